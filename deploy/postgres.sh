#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: `eval "$(bash deploy/postgres.sh start)"` exports
# TEST_DATABASE_URL; `bash deploy/postgres.sh stop` ends it. Each checkout gets its own cluster (directory
# and port derived from the checkout's path), so two checkouts on one machine never share or stop each other's. KINERJA_PG_SHARED_BUFFERS sets shared_buffers
# (default 256MB), KINERJA_PG_MAX_WAL_SIZE max_wal_size (default 1GB) and KINERJA_PG_FSYNC (default off) fsync when the cluster starts. Installs Debian's postgresql when missing
# (as root). initdb refuses to run as root, so the cluster runs as the `postgres` user then.
set -euo pipefail
checkout=$(cd "$(dirname "$0")/.." && pwd)
key=$(printf '%s' "$checkout" | cksum | cut -d' ' -f1)
PGDIR=${KINERJA_PG_DIR:-/tmp/kinerja-pg-$key}
PGPORT=${KINERJA_PG_PORT:-$((20000 + key % 20000))}
# The benchmarks at 50,000 employees want the month's working set in PostgreSQL's buffers (see PERFORMANCE.md).
SHARED_BUFFERS=${KINERJA_PG_SHARED_BUFFERS:-256MB}
MAX_WAL_SIZE=${KINERJA_PG_MAX_WAL_SIZE:-1GB}  # PostgreSQL's own default; a burst's benchmark may give it more
# The tests run without flushing to disk; KINERJA_PG_FSYNC=on is what production runs (benchmarks measure both).
FSYNC=${KINERJA_PG_FSYNC:-off}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ]; then
  if [ "$(id -u)" = 0 ]; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >&2
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  else
    echo "PostgreSQL server binaries not found (install Debian's postgresql)" >&2; exit 1
  fi
fi
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "${1:-start}" in
  start)
    if [ ! -f "$PGDIR/PG_VERSION" ]; then
      mkdir -p "$PGDIR"; [ "$(id -u)" = 0 ] && chown postgres: "$PGDIR"
      as_owner "$bindir/initdb" -D "$PGDIR" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if ! as_owner "$bindir/pg_ctl" -D "$PGDIR" status >/dev/null 2>&1; then
      as_owner "$bindir/pg_ctl" -D "$PGDIR" -l "$PGDIR/server.log" -w -t 60 \
        -o "-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=$FSYNC -c synchronous_commit=on -c max_connections=300 -c shared_buffers=$SHARED_BUFFERS -c max_wal_size=$MAX_WAL_SIZE" start >&2
    fi
    echo "export TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:$PGPORT/postgres"
    ;;
  stop)
    as_owner "$bindir/pg_ctl" -D "$PGDIR" -m fast stop >&2 || true
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
