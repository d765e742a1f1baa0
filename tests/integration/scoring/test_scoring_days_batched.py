"""Scoring applies a run of attendance days at once, with the same days and flags as one day at a time.

Two employees get the same activity entries and the same attendance days (two rounds: first versions, then
the devices' late uploads, with a stale resend): one employee's days are applied one event at a time, the
other's in batches shuffled with a third employee's. Days, flags (with their messages, evidence, states and
resolutions) and the flag events published must be the same.
"""
import random
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from scoring import handlers as h
from scoring.app import build_context
from scoring import tables
import scoring_events as ev

pytestmark = pytest.mark.postgres
MONDAY = date(2024, 3, 4)


def _first_round(nip: str) -> list:
    days = []
    for n in range(5):
        on = MONDAY + timedelta(days=n)
        if n % 2:
            days.append(ev.day(nip, on, clock_out=None))  # missing clock-out: resolved by the late upload
        else:
            days.append(ev.day(nip, on, clock_out="18:30", overtime_minutes=150))  # overtime, little activity
    return days


def _second_round(nip: str) -> list:
    days = [ev.day(nip, MONDAY + timedelta(days=n), version=2) for n in (1, 3)]
    days.append(ev.day(nip, MONDAY + timedelta(days=1), version=1, clock_out=None))  # stale resend: ignored
    days.append(ev.day(nip, MONDAY + timedelta(days=4), version=2, clock_out="16:05"))  # overtime gone
    return days


def _entries(nip: str) -> list:
    return [ev.entry(nip, f"{nip}-e{n}", MONDAY + timedelta(days=n), "08:00", "11:00") for n in range(0, 5, 2)]


def _flags(scoring, nip: str) -> list[tuple]:
    f = tables.flags.c
    with scoring.sessions() as session:
        rows = session.execute(select(tables.flags).where(f.employee_id == nip).order_by(f.local_date, f.kind)).all()
    return [(r.kind, r.local_date, r.state, r.message.replace(nip, "NIP"), r.resolution,
             {k: [i.replace(nip, "NIP") for i in v] if isinstance(v, list) else v for k, v in r.evidence.items()})
            for r in rows]


def _days(scoring, nip: str) -> list[tuple]:
    d = tables.days.c
    with scoring.sessions() as session:
        rows = session.execute(select(d.local_date, d.version, d.status, d.clock_out, d.overtime_minutes)
                               .where(d.employee_id == nip).order_by(d.local_date)).all()
    return [tuple(r) for r in rows]


def _flag_events(events, nip: str) -> list[tuple]:
    return [(e["type"], e["data"]["kind"], e["data"]["local_date"], e["data"]["resolution"])
            for e in events if e["key"] == nip and e["type"].startswith("scoring.flag.")]


def test_batched_days_equal_days_applied_one_at_a_time(scoring, new_nip):
    one, many, third = new_nip(), new_nip(), new_nip()
    scoring.feed(*(ev.employee(nip, "dinas-a") for nip in (one, many, third)))
    scoring.feed(*_entries(one), *_entries(many), *_entries(third))
    scoring.published()
    rng = random.Random(17)
    events = []
    for round_of in (_first_round, _second_round):
        assert all(scoring.feed(*round_of(one)))
        batch = round_of(many) + round_of(third)
        rng.shuffle(batch)
        mine = [e for e in batch if e.key == many]  # the employee's own order is kept, as its partition keeps it
        order = iter(round_of(many))
        batch = [next(order) if e.key == many else e for e in batch]
        assert len(mine) == len(round_of(many))
        assert scoring.consumer.apply_batch(batch[:3]) == 3
        assert scoring.consumer.apply_batch(batch[3:]) == len(batch) - 3
        events += scoring.published()

    assert _days(scoring, one) == _days(scoring, many)
    assert [(d, v) for d, v, *_ in _days(scoring, many)] == [(MONDAY + timedelta(days=n), 2 if n in (1, 3, 4) else 1)
                                                             for n in range(5)]
    flags_one = [(kind, on, state, message, resolution) for kind, on, state, message, resolution, _ in _flags(scoring, one)]
    flags_many = [(kind, on, state, message, resolution) for kind, on, state, message, resolution, _ in
                  _flags(scoring, many)]
    assert flags_one == flags_many
    assert [e[5] for e in _flags(scoring, one)] == [e[5] for e in _flags(scoring, many)]
    kinds = {(kind, state) for kind, _, state, *_ in flags_many}
    assert {("overtime_without_activity", "open"), ("overtime_without_activity", "resolved"),
            ("missing_clock_out", "resolved")} <= kinds
    assert sorted(_flag_events(events, one)) == sorted(_flag_events(events, many)) != []

    # Redelivered: skipped by the inbox; handed to the handler again, nothing changes and nothing is published.
    again = _first_round(many) + _second_round(many)
    assert scoring.consumer.apply_batch(again[:2]) == 2  # new event ids of versions already kept
    with scoring.sessions.begin() as session:
        h.apply_days(session, [e.data for e in again], build_context(scoring.client.application.config["SETTINGS"]).policy)
    assert scoring.published() == []
    assert [(kind, on, state, message, resolution) for kind, on, state, message, resolution, _ in
            _flags(scoring, many)] == flags_many
