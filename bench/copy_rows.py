"""Benchmark: the cost per row of a plain insert (`runtime.db.insert_rows`, a COPY on PostgreSQL) and of the inbox
claim (`runtime.messaging.claim`), in the client's Python and in the PostgreSQL backend serving it.

On a fresh database, each part writes `--rows` rows in batches of `--batch` (each batch its own transaction), a
`--rounds` times (the tables emptied, untimed, before each round), and prints per round the rows per second, the
Python CPU and the backend's CPU per row (Linux /proc):
- **claim**: polls of new events claimed by one consumer (`claim`: its COPY under a savepoint); **claim-told**:
  the same told the polls may hold redeliveries (`redelivery_possible`: straight to the insert that skips them);
- **reclaim**, **reclaim-told**: the same polls claimed again, every event recorded before (a redelivery): the
  refused COPY, then the insert that skips them; told, that insert alone;
- **punches**: rows of attendance's punches table (three instants, a naive local time, a date, integers, text);
- **days**: rows of scoring's days table (a date, four instants, integers, booleans, text, two JSON documents).

Run it from two trees (a `git archive` of the commit before, with this file copied in) alternated, A B A B: it
imports the code of the tree it sits in.

    eval "$(bash deploy/postgres.sh start)"
    .venv/bin/python bench/copy_rows.py --rows 20000 --rounds 5
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "services"))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import MetaData, create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from attendance_ingest import _cpu_seconds  # noqa: E402


def _tables():
    from attendance.tables import punches
    from runtime.messaging import add_messaging_tables
    from scoring.tables import days
    metadata = MetaData()
    add_messaging_tables(metadata)
    punches.to_metadata(metadata)
    days.to_metadata(metadata)
    return metadata


def _punch_rows(count: int, round_: int) -> list[dict]:
    start = datetime(2026, 11, 2, 0, 30, tzinfo=UTC) + timedelta(days=round_)
    recorded = datetime.now(UTC)
    rows = []
    for n in range(count):
        at = start + timedelta(seconds=n, microseconds=n)
        local = (at + timedelta(hours=7)).replace(tzinfo=None)
        rows.append({"device_serial": f"BENCH{n % 40:03d}", "pin": str(n % 5000), "sequence": n + round_ * count,
                     "employee_id": f"19800101200501{n % 5000:04d}", "source": "adms", "origin": None, "at": at,
                     "local_time": local, "zone": "Asia/Jakarta", "local_date": local.date(), "device_status": 0,
                     "verify": 1, "upload_id": n // 100, "recorded_at": recorded, "voided_at": None})
    return rows


def _day_rows(count: int) -> list[dict]:
    updated = datetime.now(UTC)
    rows = []
    for n in range(count):
        on = date(2026, 11, 2) + timedelta(days=n // 5000)
        start = datetime(on.year, on.month, on.day, 0, 30, tzinfo=UTC)
        rows.append({"employee_id": f"19800101200501{n % 5000:04d}", "local_date": on, "zone": "Asia/Jakarta",
                     "version": 1, "status": "present", "scheduled_start": start,
                     "scheduled_end": start + timedelta(hours=8), "scheduled_minutes": 480,
                     "clock_in": start + timedelta(minutes=n % 30), "clock_out": start + timedelta(hours=8, minutes=5),
                     "presence_minutes": 475, "late_minutes": n % 30, "early_leave_minutes": 0, "overtime_minutes": 0,
                     "late_band": "TL1" if n % 30 else None, "early_band": None, "missing_clock_in": False,
                     "missing_clock_out": False, "punch_ids": [2 * n, 2 * n + 1], "absence_kind": None,
                     "absence_reference": None, "correction": False, "doubtful_punches": None,
                     "updated_at": updated})
    return rows


def _events(count: int):
    from runtime.events import make_events
    return make_events("directory.holiday.upserted",
                       [("2026-12-25", {"date": "2026-12-25", "name": f"H{n}"}) for n in range(count)], "bench")


def run(url: str, part: str, rows: int, batch: int, rounds: int) -> list[dict]:
    from runtime.db import insert_rows, make_engine, make_session_factory
    from runtime.messaging import claim
    application = f"bench-copy-{uuid.uuid4().hex[:8]}"
    engine = make_engine(make_url(url).update_query_dict({"application_name": application})
                         .render_as_string(hide_password=False))
    metadata = _tables()
    metadata.create_all(engine)
    sessions = make_session_factory(engine, metadata)
    table = {"punches": "punches", "days": "days"}.get(part, "inbox")
    told = {"redelivery_possible": True} if part.endswith("-told") else {}
    with engine.connect() as conn:
        backend = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    results = []
    for round_ in range(rounds):
        with sessions() as session, session.begin():
            session.execute(text(f"TRUNCATE {table}"))
        if "claim" in part:
            data = _events(rows)
            if part.startswith("reclaim"):  # recorded before, untimed
                for start in range(0, rows, batch):
                    with sessions() as session, session.begin():
                        claim(session, "bench", data[start:start + batch])
        else:
            data = _punch_rows(rows, round_) if part == "punches" else _day_rows(rows)
        pg, cpu, t0 = _cpu_seconds([backend]), time.process_time(), time.perf_counter()
        for start in range(0, rows, batch):
            with sessions() as session, session.begin():
                if "claim" in part:
                    claimed = claim(session, "bench", data[start:start + batch], **told)
                    assert len(claimed) == (0 if part.startswith("reclaim") else len(data[start:start + batch]))
                else:
                    insert_rows(session, metadata.tables[table], data[start:start + batch])
        elapsed, cpu, pg = time.perf_counter() - t0, time.process_time() - cpu, _cpu_seconds([backend]) - pg
        with sessions() as session:
            assert session.execute(text(f"SELECT count(*) FROM {table}")).scalar() == rows
        results.append({"rows_per_s": round(rows / elapsed), "python_us_per_row": round(cpu * 1e6 / rows, 2),
                        "postgres_us_per_row": round(pg * 1e6 / rows, 2)})
    engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--parts", default="claim,punches,days")
    args = parser.parse_args()
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        sys.exit("TEST_DATABASE_URL is not set: eval \"$(bash deploy/postgres.sh start)\"")
    name = f"bench_copy_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(server).set(database=name).render_as_string(hide_password=False)
        for part in args.parts.split(","):
            results = run(url, part, args.rows, args.batch, args.rounds)
            medians = {key: statistics.median(r[key] for r in results) for key in results[0]}
            print(f"{part}: median {medians} rounds {[tuple(r.values()) for r in results]}", flush=True)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
