"""The ingest job's batched day build gives exactly the days a punch-by-punch build gives.

Two sets of employees get identical punches (one device per zone each): the first set's come one punch per
upload and are stored one upload per transaction, each rebuilding its day; the second set's come a round in one
upload per device, stored and built in one transaction. Every day must come out with the same content, and a
rebuild of every date from scratch must find nothing left stale.
"""
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from attendance import tables
from attendance.handlers import days
from attendance.jobs import drain

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


def _upload(att, serial_of: dict, tag: str, lines_of, one_by_one: bool = False) -> None:
    for zone in serial_of:
        lines = [_line(f"{tag}{index}", local, sequence)
                 for index, (person_zone, _) in enumerate(PEOPLE) if person_zone == zone
                 for local, sequence in lines_of(index)]
        for body in (lines if one_by_one else ["".join(lines)]):
            assert att.post_attlog(serial_of[zone], body).status_code == 200


def _days(att, nips: list[str]) -> dict:
    d = tables.days.c
    with att.sessions() as session:
        rows = session.execute(select(tables.days).where(d.employee_id.in_(nips))).all()
    return {(r.employee_id, r.local_date): r for r in rows}


def _same_content(one) -> dict:
    """A day's content with the employee and its punches' ids (different rows) left out, its version too (built
    punch by punch, a day has a version for each punch)."""
    content = dict(one.content)
    content.pop("employee_id")
    content.pop("punch_ids")
    return dict(content, correction=one.correction, punches=len(one.content["punch_ids"]))


def _same_day(one) -> dict:
    """A day's content with the employee and its punches' ids (different rows) left out."""
    content = dict(one.content)
    content.pop("employee_id")
    content.pop("punch_ids")
    return dict(content, version=one.version, correction=one.correction, punches=len(one.content["punch_ids"]))


def test_days_built_batch_by_batch_equal_days_built_punch_by_punch(att, new_nip):
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
    for lines_of in (_first_round, _second_round):
        _upload(att, serials_one, "1", lines_of, one_by_one=True)
        assert drain(att.sessions, _config(att), batch=1).uploads >= 4 * len(PEOPLE)  # a transaction per punch
        _upload(att, serials_many, "2", lines_of)
        assert att.work().uploads == len(serials_many)  # a transaction per round

    days_one, days_many = _days(att, one), _days(att, many)
    assert len(days_one) == len(days_many) >= 9 * 7
    for first, second in zip(one, many):
        mine = {local: _same_content(row) for (nip, local), row in days_one.items() if nip == first}
        theirs = {local: _same_content(row) for (nip, local), row in days_many.items() if nip == second}
        assert mine == theirs
    statuses = {row.content["status"] for row in days_many.values()}
    assert {"present", "late", "holiday", "leave"} <= statuses
    assert any(row.version > 1 for row in days_many.values())  # the second round's clock-outs: new versions
    assert all(row.correction for row in days_many.values() if row.local_date.month == 1)

    # The devices send it all again: nothing is stored twice, no day changes and nothing is published.
    built = len(att.outbox("attendance.day.built"))
    _upload(att, serials_many, "2", _first_round)
    _upload(att, serials_many, "2", _second_round)
    assert att.work().punches == 0
    assert len(att.outbox("attendance.day.built")) == built
    assert {k: _same_day(r) for k, r in _days(att, many).items()} == \
        {k: _same_day(r) for k, r in days_many.items()}

    # New punches rebuild only the days they count for: rebuilding every date of the week and the dates around it
    # from scratch, for both sets, finds nothing the ingest left stale.
    week = [MONDAY + timedelta(days=n) for n in range(-2, 12)]
    with att.sessions.begin() as session:
        assert days.rebuild_many(session, {nip: week for nip in one + many}, _config(att)) == []
    assert len(att.outbox("attendance.day.built")) == built


def _config(att):
    return att.client.application.extensions["kinerja"].service
