"""Benchmark and profile scoring's consumer of attendance days alone, and fingerprint what it produced.

The `attendance.day.built` events of `bench/punch_to_flag.py --part apply` (`--events` punches of
`--employees` employees stored and their days built as the ingest job does) are made once and kept in
`--days-file` (JSON lines of topic, key, wire form; `--burst`: in the burst's pattern, one punch a day), so
that scoring can be measured again and again on exactly the same input without rebuilding attendance's side.
Each run applies them on a fresh scoring database through the real consumer path
(`EventConsumer.handle_records`, inbox included, polls of `max_poll_records`), optionally under cProfile or
counting the statements per poll, and prints day events per second, the CPU per event of the consumer and of
the PostgreSQL backend serving it, and a fingerprint of the result: every day, flag (message, evidence,
state, resolution) and published event (type, key, data). Two trees that print the same fingerprints produced
the same results; `--dump` writes them out to compare line by line.

`--poll N` applies polls of N events instead (a consumer keeping up with a steady rate gets small polls).
`--clock-out-later` applies each day twice: first as its clock-in alone (a missing clock-out, version 1),
then, once every day had its first version, as kept (version 2): the morning's punches, then the
afternoon's, so the second half replaces stored days and resolves their missing clock-outs.

    eval "$(bash deploy/postgres.sh start)"
    .venv/bin/python bench/scoring_days.py --events 10000 --employees 5000 --days-file /tmp/days.jsonl
    .venv/bin/python bench/scoring_days.py --events 100000 --employees 50000 --burst --days-file /tmp/burst.jsonl
    .venv/bin/python bench/scoring_days.py --days-file /tmp/days.jsonl --poll 50
    .venv/bin/python bench/scoring_days.py --days-file /tmp/days.jsonl --clock-out-later
    .venv/bin/python bench/scoring_days.py --days-file /tmp/days.jsonl --profile 40
"""
from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import pstats
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "services"))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import text  # noqa: E402

from attendance_ingest import _cpu_seconds, _drop_database, _named  # noqa: E402
from punch_to_flag import (FIRST_NIP, WIB, _Record, _apply, _build_at_ingest, _database, _engine,  # noqa: E402
                           _punch_rows, _seed_scoring)

BURST_PINS = 7500  # PINs per device in the burst (`punch_to_flag.py --pins`)


def burst_rows(employees: int, events: int) -> list[dict]:
    """`events` punches of `employees` employees in the burst's pattern (`attendance_ingest._bodies`): devices of
    about `BURST_PINS` PINs each, a device's n-th record a minute after its (n-1)-th from 2025-01-06 06:00, PIN
    n % PINs; so each employee's punches are days apart and every day holds one punch. In time order across
    devices, as they arrive."""
    devices = max(1, round(employees / BURST_PINS))
    pins = -(-employees // devices)
    start = datetime(2025, 1, 6, 6, 0)
    rows = []
    for n in range(-(-events // devices)):
        local = start + timedelta(minutes=n)
        for device in range(devices):
            person = device * pins + n % pins
            if person >= employees or len(rows) == events:
                continue
            rows.append({"device_serial": f"BENCH{device:03d}", "pin": str(n % pins + 1), "sequence": n + 1,
                         "employee_id": str(FIRST_NIP + person), "source": "adms", "origin": None,
                         "at": (local - timedelta(hours=WIB)).replace(tzinfo=UTC), "local_time": local,
                         "zone": "Asia/Jakarta", "local_date": local.date(), "device_status": 0, "verify": 1,
                         "upload_id": None, "recorded_at": datetime.now(UTC)})
    return rows


def make_days(pg: str, employees: int, events: int, path: Path, burst: bool = False) -> None:
    """Store the punches and build their days as the ingest job does (`punches.store_punches`, 6,400 punches a
    transaction) once, and keep the day events that published."""
    url = _database(pg, "attendance")
    try:
        rows = burst_rows(employees, events) if burst else _punch_rows(employees, events)
        _build_at_ingest(url, employees, rows, 6400)
        with _engine(url) as conn:
            rows = conn.execute(text("SELECT topic, key, payload FROM outbox WHERE type = 'attendance.day.built' "
                                     "ORDER BY id")).all()
        path.write_text("".join(json.dumps([r.topic, r.key, r.payload]) + "\n" for r in rows))
    finally:
        _drop_database(url)


def clock_out_later(days: list[tuple]) -> list[tuple]:
    """Each day first as its clock-in alone (version 1: missing clock-out, the first punch only, no presence),
    then every day as it was (version 2), each with a new event id."""
    first, then = [], []
    for topic, key, payload in days:
        morning, afternoon = json.loads(payload), json.loads(payload)
        morning["data"].update(version=1, clock_out=None, missing_clock_out=True, presence_minutes=0,
                               overtime_minutes=0, early_leave_minutes=0, early_band=None,
                               punch_ids=morning["data"]["punch_ids"][:1])
        afternoon["data"]["version"] = 2
        for event, out in ((morning, first), (afternoon, then)):
            event["event_id"] = str(uuid.uuid4())
            out.append((topic, key, json.dumps(event)))
    return first + then


def apply_in_polls(url: str, handlers: dict, days: list[tuple], poll: int) -> dict:
    """Apply the wire events through the real consumer path in polls of `poll`: events per second, and CPU
    microseconds per event of this process and of the PostgreSQL backend serving it."""
    from runtime.consumer import EventConsumer, collect_for_polls
    from runtime.db import make_engine, make_session_factory
    from scoring import tables
    application = f"bench-scoring-days-{uuid.uuid4().hex[:8]}"
    engine = make_engine(_named(url, application))
    consumer = EventConsumer("scoring", None, None, make_session_factory(engine, tables.metadata), handlers)
    collect_for_polls()  # the collector as `EventConsumer.run` sets it
    records = [_Record(topic, n, key, value) for n, (topic, key, value) in enumerate(days)]

    def backend() -> float:
        with _engine(url) as conn:
            return _cpu_seconds(pid for (pid,) in conn.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE application_name = :name"), {"name": application}))

    with engine.connect() as conn:  # the backend started, so that its CPU is counted from here
        conn.execute(text("SELECT 1"))
    pg, cpu, t0 = backend(), time.process_time(), time.perf_counter()
    for start in range(0, len(records), poll):
        consumer.handle_records(records[start:start + poll])
    elapsed, cpu, pg = time.perf_counter() - t0, time.process_time() - cpu, backend() - pg
    engine.dispose()
    return {"events_per_s": round(len(records) / elapsed), "cpu_us_per_event": round(cpu * 1e6 / len(records)),
            "postgres_cpu_us_per_event": round(pg * 1e6 / len(records))}


def fingerprint(url: str) -> dict[str, list]:
    """What scoring holds and published, in a canonical order (no generated ids or clocks)."""
    with _engine(url) as conn:
        days = [list(map(str, r)) for r in conn.execute(text(
            "SELECT employee_id, local_date, version, status, punch_ids FROM days ORDER BY 1, 2"))]
        flags = [[r.flag_key, r.kind, r.employee_id, str(r.local_date), r.message, r.evidence, r.state,
                  r.resolution] for r in conn.execute(text("SELECT * FROM flags ORDER BY flag_key"))]
        events = [[e["type"], e["key"], e["data"]] for e in (
            json.loads(r.payload) for r in conn.execute(text("SELECT payload FROM outbox ORDER BY id")))]
    return {"days": days, "flags": flags, "events": sorted(events, key=lambda e: json.dumps(e, sort_keys=True))}


def _count_statements(enabled: bool) -> dict[str, list]:
    """Per statement (its first words): how many ran and the seconds they took, filled in as they run."""
    found: dict[str, list] = {}
    if not enabled:
        return found
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        conn.info["started"] = time.perf_counter()

    @event.listens_for(Engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        name = " ".join(statement.split()[:6])[:70] + (" (many)" if executemany else "")
        seen = found.setdefault(name, [0, 0.0])
        seen[0] += 1
        seen[1] += time.perf_counter() - conn.info.pop("started")
    return found


def main() -> int:
    """Apply the kept day events once on a fresh database; print the rate and the fingerprints as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=5000)
    parser.add_argument("--events", type=int, default=10000, help="punches behind the days")
    parser.add_argument("--days-file", type=Path, required=True, help="made when missing, reused otherwise")
    parser.add_argument("--burst", action="store_true",
                        help="make the days file in the burst's pattern: one punch a day, dates in 2025 (`burst_rows`)")
    parser.add_argument("--profile", type=int, default=0, help="print the N costliest functions (cumulative)")
    parser.add_argument("--statements", action="store_true", help="count and time the statements per poll")
    parser.add_argument("--poll", type=int, default=0,
                        help="events per poll, timing PostgreSQL's CPU too (default: max_poll_records, as the consumer)")
    parser.add_argument("--clock-out-later", action="store_true",
                        help="each day first without its clock-out (version 1), then complete (version 2)")
    parser.add_argument("--keep-db", action="store_true", help="keep the scoring database (its URL is printed)")
    parser.add_argument("--dump", type=Path, help="write the fingerprinted rows as JSON")
    args = parser.parse_args()
    pg = os.environ.get("TEST_DATABASE_URL")
    if not pg:
        print("set TEST_DATABASE_URL (eval \"$(bash deploy/postgres.sh start)\")", file=sys.stderr)
        return 2
    from runtime.config import Settings
    from scoring import tables
    from scoring.consumers import handlers
    if not args.days_file.exists():
        make_days(pg, args.employees, args.events, args.days_file, args.burst)
    days = [tuple(json.loads(line)) for line in args.days_file.read_text().splitlines()]
    if args.clock_out_later:
        days = clock_out_later(days)
    url = _database(pg, "scoring")
    try:
        _seed_scoring(url, [str(FIRST_NIP + n) for n in range(args.employees)])
        settings = Settings.from_env("scoring", dict(os.environ, SCORING_DATABASE_URL=url))
        chosen = handlers(settings)
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        statements = _count_statements(args.statements)
        cpu = time.process_time()
        if args.poll:
            measured = apply_in_polls(url, chosen, days, args.poll)
            rate = measured["events_per_s"]
        else:
            measured = _apply("scoring", url, tables.metadata, chosen, days)
            rate = measured["per_s"]
        cpu = time.process_time() - cpu
        if profiler:
            profiler.disable()
        found = fingerprint(url)
    finally:
        if not args.keep_db:
            _drop_database(url)
    from runtime.kafka import MAX_POLL_RECORDS
    polls = -(-len(days) // (args.poll or MAX_POLL_RECORDS))
    report = {"load": [round(x, 2) for x in os.getloadavg()], "day_events": len(days),
              "scoring_events_per_s": round(rate), "consumer_cpu_ms_per_event": round(cpu * 1000 / len(days), 3),
              "flags": len(found["flags"]), "events": len(found["events"]),
              "sha256": {name: hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()[:16]
                         for name, rows in found.items()}}
    if args.poll:
        report["poll"] = args.poll
    report.update(measured)
    if args.keep_db:
        report["database"] = url
    if args.statements:
        report["statements_per_poll"] = {sql: [round(n / polls, 2), round(seconds * 1000 / polls, 2)]
                                         for sql, (n, seconds) in sorted(statements.items(), key=lambda i: -i[1][1])}
    if args.dump:
        args.dump.write_text(json.dumps(found, sort_keys=True, indent=0))
    print(json.dumps(report, indent=2))
    if profiler:
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(args.profile)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
