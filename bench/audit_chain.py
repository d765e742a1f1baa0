"""Benchmark: what the hash chain costs an audit append, and how fast `kinerja audit verify` walks a chain.

On a fresh PostgreSQL database migrated for identity (the sign-in audit, `identity.audit_log`):
- **append**: `--writers` threads each append `--records` sign-in audit records through the service's own
  `identity.handlers.audit` (advisory lock per stream, read the head, hash, insert), one transaction each,
  as sign-ins do; reports appends per second and the per-append latency (median, p95);
- **plain**: the same records inserted without the chain (the insert the handler made before), for the ceiling;
- **verify**: `runtime.operations.verify_audit` over the whole chain; records per second.

    eval "$(bash deploy/postgres.sh start)"
    .venv/bin/python bench/audit_chain.py --records 2000 --writers 4

Loopback only; note the load average (`uptime`) beside any figure written down.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "services"), str(ROOT)]

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402


def _run_writers(writers: int, records: int, write) -> tuple[float, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(n: int):
        mine = []
        for i in range(records):
            started = time.perf_counter()
            write(n, i)
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(writers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies


def _figures(name: str, count: int, elapsed: float, latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    return {"phase": name, "records": count, "seconds": round(elapsed, 2), "per_second": round(count / elapsed),
            "median_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=2000, help="per writer")
    parser.add_argument("--writers", type=int, default=4)
    args = parser.parse_args()
    server = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not server:
        print("set TEST_DATABASE_URL (eval \"$(bash deploy/postgres.sh start)\")", file=sys.stderr)
        return 2
    from identity import handlers, tables
    from runtime.db import make_engine, make_session_factory
    from runtime.migrate import upgrade
    from runtime.operations import verify_audit

    database = f"bench_audit_{uuid.uuid4().hex[:8]}"
    url = make_url(server).set(database=database).render_as_string(hide_password=False)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        upgrade("identity", url)
        engine = make_engine(url)
        sessions = make_session_factory(engine, tables.metadata)
        total = args.records * args.writers

        def chained(n: int, i: int):
            with sessions() as session:
                handlers.audit(session, "sign_in", f"19800101200604{n:04d}", remote_addr="10.0.0.1", attempt=i)
                session.commit()

        plain_table = tables.audit_log.to_metadata(tables.metadata.__class__(), name="audit_plain")
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE audit_plain (LIKE audit_log INCLUDING DEFAULTS)"))

        def plain(n: int, i: int):
            with sessions() as session:
                session.execute(plain_table.insert().values(
                    at=datetime.now(UTC), event="sign_in", nip=f"19800101200604{n:04d}", actor=None,
                    remote_addr="10.0.0.1", detail={"attempt": i}, seq=n * args.records + i, prev_hash="-",
                    hash="-"))
                session.commit()

        report = []
        elapsed, latencies = _run_writers(args.writers, args.records, plain)
        report.append(_figures(f"plain insert, {args.writers} writers", total, elapsed, latencies))
        elapsed, latencies = _run_writers(args.writers, args.records, chained)
        report.append(_figures(f"chained append, {args.writers} writers", total, elapsed, latencies))
        env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
        env["IDENTITY_DATABASE_URL"] = url
        started = time.perf_counter()
        (verdict,) = verify_audit(["identity"], env, {}, None)
        elapsed = time.perf_counter() - started
        assert verdict.broken is None and verdict.records == total, verdict.line()
        report.append({"phase": "verify", "records": total, "seconds": round(elapsed, 2),
                       "per_second": round(total / elapsed)})
        engine.dispose()
        report.append({"load_average": os.getloadavg(), "cpus": os.cpu_count()})
        print(json.dumps(report, indent=2))
        return 0
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
