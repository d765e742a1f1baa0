"""Benchmark: close a month in scoring and draft its payroll run, for N employees.

    eval "$(bash deploy/postgres.sh start)"
    .venv/bin/python bench/month_close.py 1000 10000 50000

For each size: two fresh migrated PostgreSQL databases (scoring, payroll). Scoring's projections are seeded
set-based on the server (INSERT ... SELECT over generate_series, not timed): N employees in units of 1,000
(at least 4 units), October 2026 with its 22 working days (about 10% of days late, 8% early leave, 2% absent),
five 80-minute activity entries on every day present, each approved by a decision that approvals marked
creditable (not sampled), a BerAKHLAK rating for nine employees in ten. Payroll gets the same directory
(units, positions of job classes 1-17, employees). Both databases are then vacuumed and analysed (`settle`). Then,
timed:

  (a) close: scoring's real `approvals.month.closed` handler (`scoring.handlers.close_month`) for every unit,
      one transaction per unit as its consumer would run it;
  (b) move: the N `scoring.month.scored` events read from scoring's outbox in batches of 200 (the consumer's
      `max_poll_records`), each parsed and validated like a consumer does (`parse_event`), then applied by
      payroll's real consumer path (`EventConsumer.apply_batch` with payroll's handlers: one transaction per
      batch, inbox rows included), in-process (no Kafka hop);
  (c) draft: payroll's real `draft_run` for the month.
"""
from __future__ import annotations

import os
import sys
import time
import uuid
from datetime import date, datetime, timezone

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from runtime.db import make_engine, make_session_factory
from runtime.events import parse_event
from runtime.migrate import upgrade

YEAR, MONTH = 2026, 10  # October 2026: 22 working days
FIRST, LAST = date(YEAR, 10, 1), date(YEAR, 10, 31)
UNIT_SIZE = 1000
FIRST_NIP = 198001012005011000
DRAFTER = "199001012015031001"
CLOSER = "199001012015031002"


def _units(n: int) -> int:
    return max(4, n // UNIT_SIZE)


# Working days of the month as a SQL set; every seed statement draws from it.
_WORKDAYS = (f"SELECT d::date AS d FROM generate_series(DATE '{FIRST}', DATE '{LAST}', INTERVAL '1 day') AS g(d) "
             "WHERE extract(isodow FROM d) < 6")


def seed_scoring(engine, n: int) -> dict:
    """Scoring's projections for N employees and one month, generated on the server; returns row counts."""
    units = _units(n)
    statements = [
        "SELECT setseed(0.42)",
        f"""INSERT INTO units (unit_id, name, active, updated_at)
            SELECT 'U' || lpad(u::text, 3, '0'), 'Unit ' || u, true, now() FROM generate_series(0, {units - 1}) u""",
        f"""INSERT INTO employees (employee_id, unit_id, position_id, supervisor_id, acting_supervisor_id, status,
                                   zone, active, updated_at)
            SELECT ({FIRST_NIP} + i)::text, 'U' || lpad((i % {units})::text, 3, '0'),
                   'P' || lpad((1 + i % 17)::text, 2, '0'), NULL, NULL,
                   CASE WHEN i % 20 = 0 THEN 'CPNS' ELSE 'PNS' END, 'Asia/Jakarta', true, now()
            FROM generate_series(0, {n - 1}) i""",
        # One roll per employee-day decides the day: 2% absent, 10% late (TL1-4), 8% early leave (PSW1-4).
        f"""CREATE TEMP TABLE seed_days AS
            SELECT ({FIRST_NIP} + i)::text AS employee_id, w.d AS local_date, random() AS roll, random() AS band
            FROM generate_series(0, {n - 1}) i CROSS JOIN ({_WORKDAYS}) w""",
        """INSERT INTO days (employee_id, local_date, zone, version, status, scheduled_start, scheduled_end,
                             scheduled_minutes, clock_in, clock_out, presence_minutes, late_minutes,
                             early_leave_minutes, overtime_minutes, late_band, early_band, missing_clock_in,
                             missing_clock_out, punch_ids, absence_kind, absence_reference, correction, updated_at)
           SELECT employee_id, local_date, 'Asia/Jakarta', 1,
                  CASE WHEN roll < 0.02 THEN 'absent' WHEN roll < 0.12 THEN 'late' ELSE 'present' END,
                  (local_date + TIME '07:30') AT TIME ZONE 'Asia/Jakarta',
                  (local_date + TIME '16:00') AT TIME ZONE 'Asia/Jakarta', 450,
                  CASE WHEN roll >= 0.02 THEN (local_date + TIME '07:25') AT TIME ZONE 'Asia/Jakarta' END,
                  CASE WHEN roll >= 0.02 THEN (local_date + TIME '16:05') AT TIME ZONE 'Asia/Jakarta' END,
                  CASE WHEN roll >= 0.02 THEN 520 ELSE 0 END,
                  CASE WHEN roll >= 0.02 AND roll < 0.12 THEN 20 ELSE 0 END,
                  CASE WHEN roll >= 0.12 AND roll < 0.20 THEN 20 ELSE 0 END, 0,
                  CASE WHEN roll >= 0.02 AND roll < 0.12 THEN 'TL' || (1 + floor(band * 4))::int END,
                  CASE WHEN roll >= 0.12 AND roll < 0.20 THEN 'PSW' || (1 + floor(band * 4))::int END,
                  false, false,
                  CASE WHEN roll >= 0.02 THEN json_build_array('p-' || employee_id || '-' || local_date || '-in',
                                                              'p-' || employee_id || '-' || local_date || '-out')
                       ELSE '[]'::json END,
                  NULL, NULL, false, now()
           FROM seed_days""",
        # Five 80-minute entries on every day present (07:30, 08:55, 10:20, 11:45, 13:10), none overlapping.
        """CREATE TEMP TABLE seed_entries AS
           SELECT 'E' || employee_id || '-' || to_char(local_date, 'MMDD') || '-' || k AS entry_id, employee_id,
                  local_date,
                  (local_date + TIME '07:30' + (k * 85) * INTERVAL '1 minute') AT TIME ZONE 'Asia/Jakarta' AS start_at
           FROM seed_days CROSS JOIN generate_series(0, 4) k WHERE roll >= 0.02""",
        # Each entry stands as its approval below made it (what scoring's `_restand` stores on a decision).
        """INSERT INTO entries (entry_id, version, employee_id, unit_id, position_id, local_date, zone, start_at,
                                end_at, catalogue_item_id, quantity, norm_minutes, duration_minutes, credited_minutes,
                                state, standing_state, standing_verified, standing_creditable,
                                standing_credited_minutes, updated_at)
           SELECT entry_id, 1, employee_id, NULL, NULL, local_date, 'Asia/Jakarta', start_at,
                  start_at + INTERVAL '80 minutes', 'K-01', 1, 80, 80, 80, 'submitted', 'approved', NULL, true, 80,
                  now()
           FROM seed_entries""",
        f"""INSERT INTO entry_decisions (entry_id, employee_id, decision_id, entry_version, action, state,
                                         credited_minutes, creditable, sampled, decider_id, decided_at, updated_at)
            SELECT entry_id, employee_id, 'D' || entry_id, 1, 'approve', 'approved', 80, true, false,
                   '{DRAFTER}', start_at + INTERVAL '1 day', now()
            FROM seed_entries""",
        f"""INSERT INTO behaviour_ratings (employee_id, year, month, ratings, has_innovation, level, average, rated_by,
                                           rated_at)
            SELECT employee_id, {YEAR}, {MONTH},
                   '{{"berorientasi_pelayanan": 4, "akuntabel": 4, "kompeten": 4, "harmonis": 3, "loyal": 4,
                     "adaptif": 3, "kolaboratif": 4}}'::json, false, 'meets', 3.71, '{DRAFTER}', now()
            FROM employees WHERE right(employee_id, 1) <> '7'""",
        "DROP TABLE seed_days",
        "DROP TABLE seed_entries",
    ]
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    settle(engine)
    with engine.connect() as conn:
        return {table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                for table in ("employees", "days", "entries", "entry_decisions")}


def seed_payroll(engine, n: int) -> None:
    """Payroll's directory projections for the same employees (names, positions with job classes 1-17)."""
    units = _units(n)
    with engine.begin() as conn:
        conn.execute(text(f"""INSERT INTO units (unit_id, name, active, updated_at)
            SELECT 'U' || lpad(u::text, 3, '0'), 'Unit ' || u, true, now() FROM generate_series(0, {units - 1}) u"""))
        conn.execute(text("""INSERT INTO positions (position_id, name, job_class, updated_at)
            SELECT 'P' || lpad(c::text, 2, '0'), 'Kelas ' || c, c, now() FROM generate_series(1, 17) c"""))
        conn.execute(text(f"""INSERT INTO employees (employee_id, name, unit_id, position_id, status, zone, updated_at)
            SELECT ({FIRST_NIP} + i)::text, 'Pegawai ' || i, 'U' || lpad((i % {units})::text, 3, '0'),
                   'P' || lpad((1 + i % 17)::text, 2, '0'), CASE WHEN i % 20 = 0 THEN 'CPNS' ELSE 'PNS' END,
                   'Asia/Jakarta', now()
            FROM generate_series(0, {n - 1}) i"""))
    settle(engine)


def settle(engine) -> None:
    """VACUUM and ANALYZE the freshly seeded tables, checkpoint, and flush the machine's dirty pages, untimed.
    Millions of rows inserted at once would otherwise start autovacuum on entries, decisions and days in the
    middle of the timed steps (seen at 50,000 employees: it took a core for most of a minute), and the kernel's
    write-back of the seed's gigabytes would throttle the timed steps' writes (a first move after the seed took
    57 s, the same move again 12 s). A month's rows arrive over the month in production: autovacuum and
    write-back have long been through them when the month closes."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE)"))
        conn.execute(text("CHECKPOINT"))
    os.sync()


def _close_units(url: str, units: list[int]) -> None:
    """(a) Scoring's month-close handler for these units, one transaction each, as one consumer process would."""
    from scoring import handlers
    from scoring.domain.policy import load_policy
    from scoring.tables import metadata
    engine = make_engine(url)
    sessions = make_session_factory(engine, metadata)
    policy = load_policy({})
    closed_at = datetime.now(timezone.utc)
    try:
        for u in units:
            with sessions() as session, session.begin():
                handlers.close_month(session, {"unit_id": f"U{u:03d}", "year": YEAR, "month": MONTH,
                                               "closed_by": CLOSER, "closed_at": closed_at, "entry_count": 0},
                                     policy)
    finally:
        engine.dispose()


def _move_share(scoring_url: str, payroll_url: str, workers: int, share: int, batch: int = 200) -> int:
    """(b) This worker's share of scored months, from scoring's outbox into payroll's consumer: each batch (a
    poll's worth, `max_poll_records`) parsed and validated, then applied with its inbox rows in one transaction."""
    from payroll.consumers import handlers
    from payroll.tables import metadata as payroll_metadata
    from runtime.config import Settings
    from runtime.consumer import EventConsumer
    from scoring.tables import metadata as scoring_metadata
    scoring_engine, payroll_engine = make_engine(scoring_url), make_engine(payroll_url)
    scoring_sessions = make_session_factory(scoring_engine, scoring_metadata)
    payroll_sessions = make_session_factory(payroll_engine, payroll_metadata)
    consumer = EventConsumer("payroll", None, None, payroll_sessions, handlers(Settings.from_env("payroll")))
    moved, last = 0, 0
    try:
        while True:
            with scoring_sessions() as session:
                outbox = session.info["metadata"].tables["outbox"]
                rows = session.execute(select(outbox.c.id, outbox.c.payload)
                                       .where(outbox.c.type == "scoring.month.scored", outbox.c.id > last,
                                              outbox.c.id % workers == share)
                                       .order_by(outbox.c.id).limit(batch)).all()
            if not rows:
                return moved
            last = rows[-1].id
            moved += consumer.apply_batch([parse_event(row.payload) for row in rows])  # validated on consume
    finally:
        scoring_engine.dispose()
        payroll_engine.dispose()


def _in_workers(workers: int, target, argument_lists: list[tuple]) -> list:
    """Run `target` once per argument tuple: in this process for one worker, else in forked processes."""
    if workers == 1:
        return [target(*arguments) for arguments in argument_lists]
    import multiprocessing
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return pool.starmap(target, argument_lists)


def close_all_units(url: str, n: int, workers: int) -> None:
    """(a) Close every unit's month; with several workers, units are shared out like consumer partitions."""
    units = list(range(_units(n)))
    _in_workers(workers, _close_units, [(url, units[w::workers]) for w in range(workers)])


def move_events(scoring_url: str, payroll_url: str, workers: int) -> int:
    """(b) Move every scored month into payroll; with several workers, each takes its share of the outbox."""
    return sum(_in_workers(workers, _move_share, [(scoring_url, payroll_url, workers, w) for w in range(workers)]))


def draft(sessions, policy) -> dict:
    """(c) Payroll's draft of the month's run."""
    from payroll import handlers
    with sessions() as session, session.begin():
        return handlers.draft_run(session, policy, "bench", YEAR, MONTH, DRAFTER)


def _cpu() -> float:
    """CPU seconds of this process and its reaped worker processes (the Python side; PostgreSQL not included)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _database(server_url: str, prefix: str) -> tuple[str, str]:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    return name, make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _drop(server_url: str, *names: str) -> None:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _copy_of_seed(server_url: str, n: int, service: str, name: str, url: str) -> bool:
    """With `--reuse-seed`: create database `name` as a copy of the kept seed of this size, when there is one,
    migrated to the tree's head (a seed made by an older tree gets the newer migrations, as production data
    would). False when there is no kept seed yet."""
    template = f"bench_seed_{service}_{n}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :t"), {"t": template}).first():
                return False
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    finally:
        admin.dispose()
    upgrade(service, url)
    return True


def _keep_seed(server_url: str, n: int, service: str, url: str) -> None:
    """Keep a just-seeded, settled database as the seed of this size (`--reuse-seed`)."""
    template = f"bench_seed_{service}_{n}"
    name = make_url(url).database
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{template}"'))
            conn.execute(text(f'CREATE DATABASE "{template}" TEMPLATE "{name}"'))
    finally:
        admin.dispose()


def bench(server_url: str, n: int, workers: int = 1, reuse_seed: bool = False) -> dict:
    """Seed fresh databases for N employees (or copy the kept seed, `reuse_seed`), then time close, move and
    draft."""
    from payroll.domain.policy import load_policy as payroll_policy
    from payroll.tables import metadata as payroll_metadata
    from scoring.tables import metadata as scoring_metadata
    scoring_name, scoring_url = _database(server_url, "bench_month_scoring")
    payroll_name, payroll_url = _database(server_url, "bench_month_payroll")
    copied = reuse_seed and _copy_of_seed(server_url, n, "scoring", scoring_name, scoring_url) \
        and _copy_of_seed(server_url, n, "payroll", payroll_name, payroll_url)
    if not copied:
        _drop(server_url, scoring_name, payroll_name)
        upgrade("scoring", scoring_url)
        upgrade("payroll", payroll_url)
    scoring_engine, payroll_engine = make_engine(scoring_url), make_engine(payroll_url)
    try:
        scoring_sessions = make_session_factory(scoring_engine, scoring_metadata)
        payroll_sessions = make_session_factory(payroll_engine, payroll_metadata)
        started = time.perf_counter()
        if copied:  # the copy's files are new: settle them like a seed's
            settle(scoring_engine)
            settle(payroll_engine)
            with scoring_engine.connect() as conn:
                counts = {"entries": conn.execute(text("SELECT count(*) FROM entries")).scalar(),
                          "days": conn.execute(text("SELECT count(*) FROM days")).scalar()}
        else:
            counts = seed_scoring(scoring_engine, n)
            seed_payroll(payroll_engine, n)
        seeded = time.perf_counter() - started
        if reuse_seed and not copied:
            scoring_engine.dispose()
            payroll_engine.dispose()
            _keep_seed(server_url, n, "scoring", scoring_url)
            _keep_seed(server_url, n, "payroll", payroll_url)

        cpu_started = _cpu()
        started = time.perf_counter()
        close_all_units(scoring_url, n, workers)
        closed = time.perf_counter() - started
        with scoring_sessions() as session:
            outbox = session.info["metadata"].tables["outbox"]
            scored = session.execute(select(func.count()).select_from(outbox)
                                     .where(outbox.c.type == "scoring.month.scored")).scalar()
        started = time.perf_counter()
        moved = move_events(scoring_url, payroll_url, workers)
        carried = time.perf_counter() - started
        started = time.perf_counter()
        run = draft(payroll_sessions, payroll_policy({}))
        drafted = time.perf_counter() - started
        python_cpu = _cpu() - cpu_started
        assert scored == moved == run["employees"] == n, (scored, moved, run["employees"], n)
        return {"employees": n, "units": _units(n), "entries": counts["entries"], "days": counts["days"],
                "seed_s": seeded, "close_s": closed, "move_s": carried, "draft_s": drafted,
                "total_s": closed + carried + drafted, "cpu_s": python_cpu, "net_total": run["net_total"]}
    finally:
        scoring_engine.dispose()
        payroll_engine.dispose()
        if not os.environ.get("BENCH_KEEP"):
            _drop(server_url, scoring_name, payroll_name)


def durability(server_url: str) -> str:
    """The server's flush settings, printed with every benchmark's figures (production runs both on)."""
    engine = create_engine(server_url)
    with engine.connect() as conn:
        found = {name: conn.execute(text(f"SHOW {name}")).scalar() for name in ("fsync", "synchronous_commit")}
    engine.dispose()
    return ", ".join(f"{name}={value}" for name, value in found.items())


def main(argv: list[str]) -> int:
    """Run the benchmark for each size given (default 1000 10000 50000); `--workers K` closes and moves in K
    processes (as K scoring and K payroll consumer processes would); `--reuse-seed` keeps each size's seeded
    databases on the server (`bench_seed_*`) and times later runs on copies of them (the seed column is then
    the copy's settling; drop them with `DROP DATABASE` when done)."""
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        print("set TEST_DATABASE_URL (eval \"$(bash deploy/postgres.sh start)\")", file=sys.stderr)
        return 2
    workers, reuse_seed = 1, "--reuse-seed" in argv
    argv = [a for a in argv if a != "--reuse-seed"]
    if "--workers" in argv:
        at = argv.index("--workers")
        workers = int(argv[at + 1])
        argv = argv[:at] + argv[at + 2:]
    print(f"workers: {workers}, cpus: {os.cpu_count()}, {durability(server)}", flush=True)
    print(f"{'employees':>9} {'units':>5} {'entries':>9} {'seed s':>7} {'close s':>8} {'move s':>7} "
          f"{'draft s':>8} {'total s':>8} {'ms/employee':>11} {'python cpu s':>12} {'load before/after':>18}",
          flush=True)
    for n in [int(a) for a in argv] or [1000, 10000, 50000]:
        before = os.getloadavg()[0]
        r = bench(server, n, workers, reuse_seed)
        after = os.getloadavg()[0]
        print(f"{r['employees']:>9} {r['units']:>5} {r['entries']:>9} {r['seed_s']:>7.2f} {r['close_s']:>8.2f} "
              f"{r['move_s']:>7.2f} {r['draft_s']:>8.2f} {r['total_s']:>8.2f} {1000 * r['total_s'] / n:>11.3f} "
              f"{r['cpu_s']:>12.2f} "
              f"{before:>9.2f}/{after:<8.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
