"""The consumer's batched day build gives exactly the days the one-event-at-a-time build gives.

Two sets of employees get identical punches (one device each): the punch events of the first set are
applied one by one, each in its own transaction; those of the second set in batches, shuffled across
employees (each employee's own order kept, as its partition keeps it). Every day must come out the same,
with the same versions and the same `attendance.day.built` events, and a rebuild of every date from scratch
must find nothing left stale.
"""
import random
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from attendance import tables
from attendance.handlers import days

pytestmark = pytest.mark.postgres

MONDAY = date(2025, 1, 27)
NIGHT = {"schedule_id": "rsud-night-batch", "name": "RSUD night shift", "active": True,
         "days": [{"weekday": d, "start": "21:00", "end": "07:00", "break_minutes": 60} for d in range(7)]}
# (zone, schedule) of the employees of each set; the same list for both sets.
PEOPLE = [("Asia/Jakarta", None)] * 5 + [("Asia/Makassar", None), ("Asia/Jayapura", None),
                                         ("Asia/Jakarta", "rsud-night-batch"), ("Asia/Jakarta", "rsud-night-batch")]


def _line(pin: str, local: str, sequence: int) -> str:
    return f"{pin}\t{local}\t0\t1\t0\t0\t0\t0\t0\t{sequence}\n"


def _first_round(person: int) -> list[tuple[str, int]]:
    """Arrivals over a week (late on some days), a lone punch, a rest-day punch, a night shift's clock-out."""
    lines = []
    for n in range(6):
        day = MONDAY + timedelta(days=n)
        minute = (person * 7 + n * 11) % 50
        lines.append((f"{day} 07:{minute:02d}:00", 100 * n + 1))
        if (person + n) % 3:
            lines.append((f"{day} 16:{(minute + 5) % 60:02d}:00", 100 * n + 2))
    lines.append((f"{MONDAY + timedelta(days=3)} 20:55:00", 350))  # evening punch: a night shift's clock-in
    lines.append((f"{MONDAY + timedelta(days=4)} 07:10:00", 351))  # ... and its morning clock-out
    return lines


def _second_round(person: int) -> list[tuple[str, int]]:
    """Clock-outs that come with a later upload (new versions), one repeated press, a new date."""
    lines = [(f"{MONDAY + timedelta(days=n)} 17:{person:02d}:00", 100 * n + 3) for n in (0, 2)]
    lines.append((f"{MONDAY} 07:{(person * 7) % 50:02d}:30", 4))
    lines.append((f"{MONDAY + timedelta(days=9)} 08:15:00", 901))
    return lines


def _employees(att, new_nip, tag: str, serial_of: dict) -> list[str]:
    nips = []
    for index, (zone, schedule) in enumerate(PEOPLE):
        nip = att.employee(new_nip(tag), zone=zone, schedule_id=schedule)
        serial = serial_of.setdefault(zone, att.device(zone=zone))
        att.enrol(serial, f"{tag}{index}", nip)
        nips.append(nip)
    return nips


def _upload(att, serial_of: dict, tag: str, lines_of) -> None:
    for zone in serial_of:
        body = "".join(_line(f"{tag}{index}", local, sequence)
                       for index, (person_zone, _) in enumerate(PEOPLE) if person_zone == zone
                       for local, sequence in lines_of(index))
        assert att.post_attlog(serial_of[zone], body).status_code == 200


def _shuffled_by_employee(events: list, rng: random.Random) -> list:
    """Events interleaved at random across employees, each employee's own events still in order."""
    queues = {}
    for event in events:
        queues.setdefault(event.key, []).append(event)
    mixed = []
    while queues:
        key = rng.choice(sorted(queues))
        mixed.append(queues[key].pop(0))
        if not queues[key]:
            del queues[key]
    return mixed


def _days(att, nips: list[str]) -> dict:
    d = tables.days.c
    with att.sessions() as session:
        rows = session.execute(select(tables.days).where(d.employee_id.in_(nips))).all()
    return {(r.employee_id, r.local_date): r for r in rows}


def _built(att, nip: str) -> list[tuple]:
    return [(e.data["local_date"], e.data["version"], e.data["status"], e.data["correction"])
            for e in att.outbox("attendance.day.built") if e.key == nip]


def _same_day(one) -> dict:
    """A day's content with the employee and its punches' ids (different rows) left out."""
    content = dict(one.content)
    content.pop("employee_id")
    content.pop("punch_ids")
    return dict(content, version=one.version, correction=one.correction, punches=len(one.content["punch_ids"]))


def test_batched_days_equal_days_built_one_event_at_a_time(att, new_nip):
    att.apply("directory.schedule.upserted", NIGHT, NIGHT["schedule_id"])
    att.apply("directory.holiday.upserted", {"date": str(MONDAY + timedelta(days=2)), "name": "Libur", "active": True})
    att.apply("approvals.month.closed", {"unit_id": "dinkes", "year": 2025, "month": 1,
                                         "closed_by": new_nip(), "closed_at": "2025-02-03T01:00:00+00:00", "entry_count": 0})
    serials_one, serials_many = {}, {}
    one = _employees(att, new_nip, "1", serials_one)
    many = _employees(att, new_nip, "2", serials_many)
    with att.sessions.begin() as session:  # a leave on Thursday for one pair: the build reads absences too
        for nip in (one[2], many[2]):
            days.record_absence(session, {"employee_id": nip, "kind": "leave", "start_date": MONDAY + timedelta(days=3),
                                          "end_date": MONDAY + timedelta(days=3)}, nip, MONDAY, _config(att))
    rng = random.Random(17)
    seen: set[str] = set()
    for lines_of in (_first_round, _second_round):
        _upload(att, serials_one, "1", lines_of)
        _upload(att, serials_many, "2", lines_of)
        att.work()
        new = [e for e in att.outbox("attendance.punch.recorded") if e.event_id not in seen]
        seen |= {e.event_id for e in new}
        for event in (e for e in new if e.key in one):
            assert att.consumer.apply(event)
        batch = _shuffled_by_employee([e for e in new if e.key in many], rng)
        assert len(batch) >= 4 * len(PEOPLE)
        for start in range(0, len(batch), 23):
            assert att.consumer.apply_batch(batch[start:start + 23]) == len(batch[start:start + 23])

    days_one, days_many = _days(att, one), _days(att, many)
    assert len(days_one) == len(days_many) >= 9 * 7
    for first, second in zip(one, many):
        mine = {local: _same_day(row) for (nip, local), row in days_one.items() if nip == first}
        theirs = {local: _same_day(row) for (nip, local), row in days_many.items() if nip == second}
        assert mine == theirs
        assert sorted(_built(att, first)) == sorted(_built(att, second))
    statuses = {row.content["status"] for row in days_many.values()}
    assert {"present", "late", "holiday", "leave"} <= statuses
    assert any(row.version > 1 for row in days_many.values())
    assert all(row.correction for row in days_many.values() if row.local_date.month == 1)

    # Redelivered: the inbox skips them; handed to the build again, nothing changes and nothing is published.
    events = [e for e in att.outbox("attendance.punch.recorded") if e.key in many]
    built = len(att.outbox("attendance.day.built"))
    assert att.consumer.apply_batch(events) == 0
    with att.sessions.begin() as session:
        assert days.on_punches_recorded(session, [e.data for e in events], _config(att)) == []
    assert len(att.outbox("attendance.day.built")) == built
    assert {k: _same_day(r) for k, r in _days(att, many).items()} == \
        {k: _same_day(r) for k, r in days_many.items()}

    # A punch event rebuilds only the day its punch counts for: rebuilding every date of the week and the dates
    # around it from scratch, for both sets, finds nothing the events left stale.
    week = [MONDAY + timedelta(days=n) for n in range(-2, 12)]
    with att.sessions.begin() as session:
        assert days.rebuild_many(session, {nip: week for nip in one + many}, _config(att)) == []
    assert len(att.outbox("attendance.day.built")) == built


def _config(att):
    return att.client.application.extensions["kinerja"].service
