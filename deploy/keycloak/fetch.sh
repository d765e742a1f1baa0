#!/usr/bin/env bash
# What the tests of external sign-in need: Keycloak (the keycloak-quarkus-dist zip from Maven Central,
# fetched by Maven like the Kafka broker's jars) unpacked under .cache/keycloak/ and built once for the
# tests' options (in-memory database, local cache), so that each test session starts it optimised; and
# a Java 21 or newer to run it, whose home is written to .cache/keycloak/java-home: KEYCLOAK_JAVA_HOME,
# JAVA_HOME or a JDK under /usr/lib/jvm, else Debian's openjdk-21 when apt offers it (as root). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=26.7.3
dest=.cache/keycloak
mkdir -p "$dest"
if [ ! -f "$dest/.complete-$VERSION" ]; then
  command -v mvn >/dev/null || { echo "Maven (mvn) is needed to fetch Keycloak" >&2; exit 1; }
  rm -rf "$dest"/keycloak-* "$dest"/.complete-* "$dest"/.built-*
  # run from the cache: without a project, the plugin keeps its markers under the working directory
  (cd "$dest" && mvn -q -B org.apache.maven.plugins:maven-dependency-plugin:3.8.1:unpack \
    -Dartifact="org.keycloak:keycloak-quarkus-dist:$VERSION:zip" -DoutputDirectory="$PWD")
  touch "$dest/.complete-$VERSION"
fi
java_major() {  # the feature version of the java in JDK home $1 (0 when none)
  [ -x "$1/bin/java" ] || { echo 0; return; }
  "$1/bin/java" -XshowSettings:properties -version 2>&1 |
    sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1
}
find_java21() {
  local best="" best_major=0 home major
  for home in ${KEYCLOAK_JAVA_HOME:-} ${JAVA_HOME:-} /usr/lib/jvm/*; do
    [ -d "$home" ] || continue
    major=$(java_major "$home"); major=${major:-0}
    if [ "$major" -ge 21 ] && [ "$major" -gt "$best_major" ]; then best=$home; best_major=$major; fi
  done
  echo "$best"
}
home=$(find_java21)
if [ -z "$home" ] && [ "$(id -u)" = 0 ] && apt-cache show openjdk-21-jdk-headless >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-21-jdk-headless >/dev/null
  home=$(find_java21)
fi
if [ -z "$home" ]; then
  rm -f "$dest/java-home"
  echo "Keycloak needs Java 21 or newer: none found (set KEYCLOAK_JAVA_HOME); its tests will not run" >&2
  exit 0
fi
if [ ! -f "$dest/.built-$VERSION" ]; then
  JAVA_HOME=$home "$dest/keycloak-$VERSION/bin/kc.sh" build --db=dev-mem --cache=local >/dev/null
  touch "$dest/.built-$VERSION"
fi
echo "$home" > "$dest/java-home"
