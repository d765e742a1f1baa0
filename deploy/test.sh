#!/usr/bin/env bash
# The test command: installs what is missing, starts a throwaway PostgreSQL unless TEST_DATABASE_URL is
# set, and runs the whole suite (unit, integration on PostgreSQL, end-to-end on a real Kafka broker that
# the tests start themselves unless KAFKA_BOOTSTRAP_SERVERS is set). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/setup.sh
bash deploy/keycloak/fetch.sh  # Keycloak and a Java 21+ for the external sign-in tests
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  eval "$(bash deploy/postgres.sh start)"
  # the cluster is this run's own: stop it however the run ends (KINERJA_PG_KEEP=1 keeps it for reruns)
  [ -n "${KINERJA_PG_KEEP:-}" ] || trap 'bash deploy/postgres.sh stop 2>/dev/null' EXIT
fi
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
