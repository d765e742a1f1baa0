"""Benchmark: draft a payroll run for N employees (scored months seeded straight into the payroll database).

    eval "$(bash deploy/postgres.sh start)"
    .venv/bin/python bench/payroll_run.py 1000 10000 50000

Each size gets a fresh PostgreSQL database (migrated), N employees in 50 units with positions of job
classes 1–17, a scored month of 22 working days each (about one day in five late or leaving early, one in
fifty absent), then times `draft_run` (load with a few queries, price every employee, bulk insert) and a
recompute of the unchanged draft (idempotent: no writes).
"""
from __future__ import annotations

import os
import random
import sys
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from payroll import handlers, tables
from payroll.domain.policy import load_policy
from runtime.db import make_engine, make_session_factory
from runtime.migrate import upgrade

YEAR, MONTH = 2026, 11
BANDS = ("TL1", "TL2", "TL3", "TL4")
EARLY = ("PSW1", "PSW2", "PSW3", "PSW4")


def working_days() -> list[date]:
    """The first 22 weekdays from 1 November 2026."""
    days, current = [], date(YEAR, MONTH, 1)
    while len(days) < 22:
        if current.weekday() < 5:
            days.append(current)
        current += timedelta(days=1)
    return days


def seed(sessions, n: int, rng: random.Random) -> None:
    """N employees, their positions and units, and one scored month each, in bulk."""
    now = datetime.now(timezone.utc)
    days = working_days()
    units = [{"unit_id": f"U{u:03d}", "name": f"Unit {u}", "active": True, "updated_at": now} for u in range(50)]
    positions = [{"position_id": f"P{c:02d}", "name": f"Kelas {c}", "job_class": c, "updated_at": now}
                 for c in range(1, 18)]
    employees, months = [], []
    for i in range(n):
        nip = f"{198001012005011000 + i}"
        unit = units[i % 50]["unit_id"]
        employees.append({"employee_id": nip, "name": f"Pegawai {i}", "unit_id": unit,
                          "position_id": f"P{1 + i % 17:02d}", "status": "CPNS" if i % 20 == 0 else "PNS",
                          "zone": "Asia/Jakarta", "updated_at": now})
        facts = []
        for d in days:
            roll = rng.random()
            if roll < 0.02:
                facts.append({"local_date": d.isoformat(), "status": "absent", "late_band": None,
                              "early_band": None, "absence_kind": None})
            elif roll < 0.12:
                facts.append({"local_date": d.isoformat(), "status": "present", "late_band": rng.choice(BANDS),
                              "early_band": None, "absence_kind": None})
            elif roll < 0.20:
                facts.append({"local_date": d.isoformat(), "status": "present", "late_band": None,
                              "early_band": rng.choice(EARLY), "absence_kind": None})
            else:
                facts.append({"local_date": d.isoformat(), "status": "present", "late_band": None,
                              "early_band": None, "absence_kind": None})
        months.append({"employee_id": nip, "year": YEAR, "month": MONTH, "version": 1, "unit_id": unit,
                       "activity_score": Decimal(rng.randrange(6000, 10000)) / 100, "target_score": None,
                       "behaviour_score": None, "overtime_hours": None, "predicate": "Baik", "days": facts,
                       "received_at": now, "received_local_date": now.date(), "zone": "Asia/Jakarta"})
    with sessions() as session, session.begin():
        session.execute(insert(tables.units), units)
        session.execute(insert(tables.positions), positions)
        for start in range(0, n, 5000):
            session.execute(insert(tables.employees), employees[start:start + 5000])
            session.execute(insert(tables.scored_months), months[start:start + 5000])


def bench(server_url: str, n: int) -> dict:
    """Seed a fresh database with N employees and time drafting and recomputing their run."""
    name = f"bench_payroll_{uuid.uuid4().hex[:8]}"
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    upgrade("payroll", url)
    engine = make_engine(url)
    sessions = make_session_factory(engine, tables.metadata)
    policy = load_policy({})
    try:
        started = time.perf_counter()
        seed(sessions, n, random.Random(n))
        seeded = time.perf_counter() - started
        started = time.perf_counter()
        with sessions() as session:
            run = handlers.draft_run(session, policy, "bench", YEAR, MONTH, "199001012015031001")
            session.commit()
        drafted = time.perf_counter() - started
        started = time.perf_counter()
        with sessions() as session:
            _, changed = handlers.recompute_run(session, policy, run["run_id"], "199001012015031001")
            session.commit()
        recomputed = time.perf_counter() - started
        assert run["employees"] == n and not changed
        return {"employees": n, "seed_s": seeded, "draft_s": drafted, "recompute_s": recomputed,
                "net_total": run["net_total"]}
    finally:
        engine.dispose()
        admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main(argv: list[str]) -> int:
    """Run the benchmark for each size given (default 1000 10000 50000)."""
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        print("set TEST_DATABASE_URL (eval \"$(bash deploy/postgres.sh start)\")", file=sys.stderr)
        return 2
    from month_close import durability
    print(durability(server), flush=True)
    print(f"{'employees':>9} {'seed s':>8} {'draft s':>8} {'recompute s':>12} {'per employee ms':>16}")
    for n in [int(a) for a in argv] or [1000, 10000, 50000]:
        r = bench(server, n)
        print(f"{r['employees']:>9} {r['seed_s']:>8.2f} {r['draft_s']:>8.2f} {r['recompute_s']:>12.2f} "
              f"{1000 * r['draft_s'] / n:>16.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
