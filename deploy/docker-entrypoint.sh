#!/bin/sh
# Container entry: migrate the service's database, then run the requested process.
set -e
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
service="$1"; process="$2"
case "$process" in
  web)
    kinerja migrate "$service"
    exec gunicorn -c /app/deploy/gunicorn.conf.py -b 0.0.0.0:"$PORT" -w "${WEB_WORKERS:-2}" "$service.app:create_app()" ;;
  relay|consume|work)
    exec kinerja "$process" "$service" ;;
  *) echo "usage: <service> web|relay|consume|work" >&2; exit 2 ;;
esac
