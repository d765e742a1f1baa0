#!/bin/sh
# Container entry: migrate the service's database, then run the requested process.
set -e
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
service="$1"; process="$2"
case "$process" in
  web)
    # docker-compose migrates once, as the tables' owner (its `migrate` service); alone, a web migrates itself
    [ "${KINERJA_MIGRATE_ON_START:-true}" = "false" ] || kinerja migrate "$service"
    exec gunicorn -c /app/deploy/gunicorn.conf.py -b 0.0.0.0:"$PORT" -w "${WEB_WORKERS:-2}" "$service.app:create_app()" ;;
  relay|consume|work)
    exec kinerja "$process" "$service" ;;
  migrate)  # `all migrate`: every service
    if [ "$service" = all ]; then exec kinerja migrate; else exec kinerja migrate "$service"; fi ;;
  *) echo "usage: <service>|all web|relay|consume|work|migrate" >&2; exit 2 ;;
esac
