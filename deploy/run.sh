#!/usr/bin/env bash
# The main job: installs what is missing, then runs the whole platform on this machine (a real local
# Kafka broker, every service under gunicorn, every relay and consumer) on its embedded SQLite defaults,
# or on PostgreSQL when DATABASE_URL points at one. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/setup.sh
exec .venv/bin/kinerja up "$@"
