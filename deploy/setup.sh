#!/usr/bin/env bash
# Install what the platform needs on this machine, idempotently: a Python virtualenv with the pinned
# packages (pyproject.toml) and the Kafka broker's jars (deploy/kafka/pom.xml, fetched by Maven).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.kinerja-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[test]'
  touch "$stamp"
fi
if [ ! -f .cache/kafka/libs/.complete ] || [ deploy/kafka/pom.xml -nt .cache/kafka/libs/.complete ]; then
  command -v mvn >/dev/null || { echo "Maven (mvn) and Java 17+ are needed to fetch the Kafka broker" >&2; exit 1; }
  rm -rf .cache/kafka/libs
  mvn -q -B -f deploy/kafka/pom.xml dependency:copy-dependencies -DoutputDirectory="$PWD/.cache/kafka/libs" -DincludeScope=runtime
  touch .cache/kafka/libs/.complete
fi
