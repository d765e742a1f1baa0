"""Benchmark: device uploads processed while the attendance job builds a finished date for every employee.

Seeds a fresh PostgreSQL database with `--employees` active employees (none closed: the job's first look
builds the latest finished date for all of them) and one approved device with 50 enrolled PINs, starts the job
(`kinerja work attendance`, from `--code`, default this checkout), and meanwhile stores an upload of 10 punches
every `--every` seconds as the upload request does (the row, and the NOTIFY that wakes the job). It reports the
build's time (the first day written to the moment `closed_dates` has the date) and, for the uploads stored while
it ran (between the first and the last chunk's start, the days' `built_at`), how many were processed in that
time and how long each waited (stored -> processed).

    eval "$(bash deploy/postgres.sh start)"
    .venv/bin/python bench/nightly_build.py --employees 20000
    .venv/bin/python bench/nightly_build.py --employees 20000 --code /path/to/another/checkout
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "services"))

from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from attendance_ingest import _drop_database  # noqa: E402

SERIAL = "BENCHNIGHT01"
PINS = 50
FIRST_NIP = 198001012005011000


def _seed(sessions, employees: int) -> None:
    from attendance import tables
    from runtime.db import insert_rows
    now = datetime.now(UTC)
    with sessions() as session, session.begin():
        insert_rows(session, tables.employees, [
            {"employee_id": str(FIRST_NIP + n), "unit_id": "bench", "zone": "Asia/Jakarta", "schedule_id": None,
             "active": True} for n in range(employees)])
        session.execute(insert(tables.devices).values(
            device_serial=SERIAL, state="approved", zone="Asia/Jakarta", options={}, first_seen_at=now,
            attlog_stamp=0, operlog_stamp=0))
        insert_rows(session, tables.enrolments, [
            {"device_serial": SERIAL, "pin": str(pin), "employee_id": str(FIRST_NIP + pin), "name": "", "active": True}
            for pin in range(1, PINS + 1)])


def _post(sessions, stop: threading.Event, every: float) -> None:
    """An upload of 10 punches every `every` seconds, stored and notified as the upload request does."""
    from attendance import tables
    from attendance.store import UPLOADS_CHANNEL
    n = 0
    while not stop.wait(every):
        lines = "".join(f"{(n * 10 + k) % PINS + 1}\t2025-01-06 {7 + (n // 60) % 10:02d}:{n % 60:02d}:{k:02d}"
                        f"\t0\t1\t0\t0\t0\t0\t0\t0\t{n * 10 + k + 1}\r\n" for k in range(10))
        with sessions() as session, session.begin():
            session.execute(insert(tables.raw_uploads).values(
                device_serial=SERIAL, table_name="ATTLOG", stamp=str(n * 10 + 10), received_at=datetime.now(UTC),
                body=lines.encode()))
            session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": UPLOADS_CHANNEL})
        n += 1


def _percentile(ordered: list[float], q: float) -> float:
    return round(ordered[min(len(ordered) - 1, max(0, int(len(ordered) * q) - 1))], 2) if ordered else 0.0


def run(pg: str, args) -> dict:
    from attendance import tables
    from runtime.db import make_engine, make_session_factory
    from runtime.migrate import upgrade
    url = make_url(pg).set(database=f"bench_nightly_{uuid.uuid4().hex[:8]}").render_as_string(hide_password=False)
    upgrade("attendance", url)
    engine = make_engine(url)
    sessions = make_session_factory(engine, tables.metadata)
    code = Path(args.code).resolve()
    log = tempfile.NamedTemporaryFile(prefix="nightly-job-", suffix=".log", delete=False)
    try:
        _seed(sessions, args.employees)
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
        stop = threading.Event()
        poster = threading.Thread(target=_post, args=(sessions, stop, args.every))
        poster.start()
        load = os.getloadavg()
        env = dict(os.environ, PYTHONPATH=str(code / "services"), ATTENDANCE_DATABASE_URL=url)
        job = subprocess.Popen([sys.executable, "-m", "runtime.cli", "work", "attendance"], cwd=code, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
        c, r, d = tables.closed_dates.c, tables.raw_uploads.c, tables.days.c
        closed_seen = None
        try:
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline:
                if job.poll() is not None:
                    raise RuntimeError(f"the job exited with {job.returncode} (its log: {log.name})")
                with sessions() as session:
                    if session.execute(select(c.local_date)).first() is not None:
                        closed_seen = datetime.now(UTC)
                        break
                time.sleep(0.1)
            time.sleep(2.0)  # a little after the build: uploads flowing again either way
            stop.set()
            poster.join()
            while time.monotonic() < deadline:
                with sessions() as session:
                    if session.execute(select(r.id).where(r.processed_at.is_(None))).first() is None:
                        break
                time.sleep(0.1)
        finally:
            stop.set()
            job.terminate()
            job.wait(timeout=60)
        with sessions() as session:
            first_day, last_day = session.execute(select(func.min(d.built_at), func.max(d.built_at))).one()
            days_built = session.execute(select(func.count()).select_from(tables.days)).scalar()
            uploads = session.execute(select(r.received_at, r.processed_at).order_by(r.id)).all()
    finally:
        engine.dispose()
        _drop_database(url)
    if closed_seen is None:
        raise RuntimeError(f"the date was not closed within {args.timeout} s (job log: {log.name})")
    during = [(u.received_at, u.processed_at) for u in uploads if first_day <= u.received_at <= last_day]
    waits = sorted((p - s).total_seconds() for s, p in during if p is not None)
    return {
        "code": str(code), "employees": args.employees, "days_built": days_built,
        "build_s": round((closed_seen - first_day).total_seconds(), 2),
        "uploads_stored_during_build": len(during),
        "processed_during_build": sum(1 for _, p in during if p is not None and p <= last_day),
        "wait_s_p50": _percentile(waits, 0.5), "wait_s_p99": _percentile(waits, 0.99),
        "wait_s_max": round(waits[-1], 2) if waits else None,
        "uploads_total": len(uploads), "load_average_at_start": [round(x, 2) for x in load],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()], "job_log": log.name,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=20000)
    parser.add_argument("--every", type=float, default=0.1, help="seconds between two uploads")
    parser.add_argument("--code", default=str(ROOT), help="the checkout whose job runs (its services/)")
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    pg = os.environ.get("TEST_DATABASE_URL")
    if not pg:
        print("TEST_DATABASE_URL is not set (eval \"$(bash deploy/postgres.sh start)\")", file=sys.stderr)
        return 2
    print(json.dumps(run(pg, args), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
