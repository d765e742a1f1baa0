#!/usr/bin/env bash
# Re-vendor the portal's browser assets from the npm registry at the pinned versions below, with their
# licences, into static/vendor/ (committed: regional intranets often block CDNs, and running the portal
# needs no build step). Run it only to change a version.
set -euo pipefail
cd "$(dirname "$0")/static/vendor"
# package@version  file-in-package  vendored-name
ASSETS=(
  "htmx.org@2.0.11 dist/htmx.min.js htmx.min.js"
  "chart.js@4.6.1 dist/chart.umd.min.js chart.umd.min.js"
  "axe-core@4.14.1 axe.min.js axe.min.js"
)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
: > VERSIONS.txt
for asset in "${ASSETS[@]}"; do
  read -r spec file name <<<"$asset"
  package=${spec%@*}
  (cd "$work" && npm pack --silent "$spec" >/dev/null)
  tarball=$(ls "$work"/*.tgz)
  mkdir -p "$work/x" && tar -xzf "$tarball" -C "$work/x"
  cp "$work/x/package/$file" "$name"
  licence=$(ls "$work/x/package" | grep -iE '^licen[cs]e(\.(md|txt))?$' | head -1)
  cp "$work/x/package/$licence" "$package.LICENSE.txt"
  echo "$spec $name sha256:$(sha256sum "$name" | cut -d' ' -f1)" >> VERSIONS.txt
  rm -rf "$work/x" "$tarball"
done
