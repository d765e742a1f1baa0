"""Scoring applies runs of activity entries, decisions and verifications at once, with the same entries, decisions
and flags as one event at a time.

Two employees get the same attendance week; then three rounds of the same entry, decision and verification
events (entries submitted, overlapping, outside the clocked presence and covering overtime; then revisions moving
and withdrawing entries, a stale resend, decisions and a verdict that overtakes its decision; then late and
replaced decisions). One employee's events are applied one at a time, the other's in batches shuffled with a
third employee's (its own order kept, as its partition keeps it). Entries as they stand, decisions, flags (with
their messages, evidence, states and resolutions) and the flag events published must be the same; redelivered,
nothing changes.
"""
import random
from itertools import groupby
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from scoring import tables
import scoring_events as ev

pytestmark = pytest.mark.postgres
MONDAY = date(2024, 4, 1)
BOSS, VERIFIER = "196501011990031001", "196601011991031002"


def _day(n: int) -> date:
    return MONDAY + timedelta(days=n)


def _days(nip: str) -> list:
    """Monday to Friday present; Tuesday and Thursday with 150 min of overtime until 18:30."""
    return [ev.day(nip, _day(n), clock_out="18:30", overtime_minutes=150) if n in (1, 3) else ev.day(nip, _day(n))
            for n in range(5)]


def _rounds(nip: str) -> list[list]:
    e = f"{nip}-e"
    first = [
        ev.entry(nip, e + "1", _day(0), "08:00", "11:00"),
        ev.entry(nip, e + "2", _day(0), "10:00", "12:00"),  # overlaps e1
        ev.entry(nip, e + "3", _day(1), "16:00", "18:30"),  # covers Tuesday's overtime
        ev.entry(nip, e + "4", _day(2), "17:00", "19:00"),  # outside Wednesday's presence
        ev.entry(nip, e + "5", _day(3), "08:00", "15:00"),
    ]
    approve_e1 = ev.decision(nip, e + "1", _day(0), BOSS, credited=180, sampled=True, creditable=False)
    reject_e5 = ev.decision(nip, e + "5", _day(3), BOSS, action="reject")
    late_verdict = ev.decision(nip, e + "3", _day(1), BOSS, credited=150, sampled=True, creditable=False)
    second = [
        ev.entry(nip, e + "2", _day(0), "12:00", "13:00", version=2, kind="activities.entry.revised"),  # no overlap
        ev.entry(nip, e + "4", _day(4), "09:00", "10:00", version=2, kind="activities.entry.revised"),  # moved
        ev.entry(nip, e + "3", _day(1), "16:00", "18:30", version=2, state="withdrawn",
                 kind="activities.entry.withdrawn"),  # Tuesday's overtime uncovered again
        ev.entry(nip, e + "1", _day(0), "08:00", "11:00"),  # stale resend of version 1
        approve_e1, reject_e5,
        ev.verification(late_verdict, VERIFIER),  # overtakes its decision
        ev.verification(approve_e1, VERIFIER),
    ]
    replaced = ev.decision(nip, e + "1", _day(0), BOSS, action="set_minutes", credited=120, sampled=False,
                           creditable=True)
    third = [
        late_verdict,
        replaced,  # replaces the verified approval: its verification no longer holds
        ev.decision(nip, e + "1", _day(0), BOSS, action="reject",  # older than the one on file: ignored
                    decided_at=(datetime.now(timezone.utc) - timedelta(days=1)).isoformat()),
        ev.entry(nip, e + "5", _day(3), "08:00", "12:00", version=2, kind="activities.entry.revised"),
    ]
    return [first, second, third]


def _plain(value, nip: str):
    if isinstance(value, str):
        return value.replace(nip, "NIP")
    if isinstance(value, list):
        return [_plain(item, nip) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item, nip) for key, item in value.items()}
    return value


def _state(scoring, nip: str) -> dict:
    f, e, d = tables.flags.c, tables.entries.c, tables.entry_decisions.c
    with scoring.sessions() as session:
        flags = session.execute(select(f.kind, f.local_date, f.flag_key, f.state, f.message, f.resolution, f.evidence)
                                .where(f.employee_id == nip).order_by(f.flag_key)).all()
        entries = session.execute(select(e.entry_id, e.version, e.local_date, e.state, e.standing_state,
                                         e.standing_verified, e.standing_creditable, e.standing_credited_minutes)
                                  .where(e.employee_id == nip).order_by(e.entry_id)).all()
        decisions = session.execute(select(d.entry_id, d.entry_version, d.action, d.state, d.credited_minutes,
                                           d.creditable, d.sampled, d.verdict, d.verified, d.verified_state)
                                    .where(d.employee_id == nip).order_by(d.entry_id)).all()
    return {"flags": [_plain(list(r), nip) for r in flags], "entries": [_plain(list(r), nip) for r in entries],
            "decisions": [_plain(list(r), nip) for r in decisions]}


def _flag_events(events, nip: str) -> list:
    return sorted(_plain([e["type"], e["data"]["flag_key"], e["data"]["message"], e["data"]["evidence"],
                          e["data"]["resolution"]], nip)
                  for e in events if e["key"] == nip and e["type"].startswith("scoring.flag."))


def test_batched_entries_and_decisions_equal_them_applied_one_at_a_time(scoring, new_nip):
    one, many, third = new_nip(), new_nip(), new_nip()
    scoring.feed(*(ev.employee(nip, "dinas-a", supervisor=BOSS) for nip in (one, many, third)))
    for nip in (one, many, third):
        assert all(scoring.feed(*_days(nip)))
    scoring.published()
    rng = random.Random(17)
    events, sent = [], []
    for mine, theirs in zip(_rounds(many), _rounds(third)):
        batch = mine + theirs
        rng.shuffle(batch)
        order = iter(mine)  # the employee's own order is kept, as its partition keeps it
        batch = [next(order) if e.key == many else e for e in batch]
        cut = len(batch) // 2
        assert scoring.consumer.apply_batch(batch[:cut]) + scoring.consumer.apply_batch(batch[cut:]) == len(batch)
        sent += mine
        events += scoring.published()
    for round_ in _rounds(one):
        assert all(scoring.feed(*round_))
        events += scoring.published()

    batched = _state(scoring, many)
    assert _state(scoring, one) == batched
    assert _flag_events(events, one) == _flag_events(events, many) != []
    flags = {(kind, on, state) for kind, on, _, state, *_ in batched["flags"]}
    assert {("overlapping_activities", _day(0), "resolved"), ("activity_outside_attendance", _day(2), "resolved"),
            ("overtime_without_activity", _day(1), "open")} <= flags
    decisions = {entry_id: rest for entry_id, *rest in batched["decisions"]}
    assert decisions["NIP-e1"][1:3] == ["set_minutes", "approved"] and decisions["NIP-e1"][6:] == [None, None, None]
    assert decisions["NIP-e3"][0] == 1 and decisions["NIP-e3"][6:8] == ["uphold", True]
    assert decisions["NIP-e5"][1:3] == ["reject", "rejected"]

    # Redelivered: skipped by the inbox; the same data under new event ids changes nothing and publishes nothing.
    assert scoring.consumer.apply_batch(sent) == 0
    with scoring.sessions.begin() as session:
        for event_type, run in groupby(sent, key=lambda e: e.type):
            scoring.consumer.handlers[event_type].many(session, list(run))
    assert _flag_events(scoring.published(), many) == []
    assert _state(scoring, many)["flags"] == batched["flags"]
