"""Attendance days on PostgreSQL: from device punches (through the consumer) and from the daily build."""
from datetime import date

import pytest

pytestmark = pytest.mark.postgres

MONDAY = date(2025, 1, 27)
NIGHT = {"schedule_id": "rsud-night", "name": "RSUD night shift", "active": True,
         "days": [{"weekday": d, "start": "21:00", "end": "07:00", "break_minutes": 60} for d in range(7)]}


def _line(pin: str, local: str, sequence: int | None = None) -> str:
    tail = f"\t0\t0\t0\t0\t0\t{sequence}" if sequence is not None else ""
    return f"{pin}\t{local}\t0\t1\t0{tail}\n"


def test_an_unenrolled_pin_is_kept_and_matched_when_its_enrolment_arrives(att, new_nip):
    serial = att.device()
    nip = att.employee(new_nip())
    assert att.post_attlog(serial, _line("99", "2025-01-27 07:25:00") + _line("99", "2025-01-27 16:10:00")).data \
        == b"OK: 2"
    att.work()
    assert att.punches(nip, MONDAY) == [] and att.days(nip, MONDAY) == []
    att.enrol(serial, "99", nip)
    assert len(att.punches(nip, MONDAY)) == 2
    att.work()
    [day] = att.days(nip, MONDAY)
    assert (day["status"], day["version"], day["late_minutes"]) == ("present", 1, 0)
    assert day["clock_in"] == "2025-01-27T00:25:00+00:00" and day["clock_out"] == "2025-01-27T09:10:00+00:00"
    assert [e.data["version"] for e in att.outbox("attendance.day.built")] == [1]


def test_an_overnight_hospital_shift_is_one_day_on_the_date_it_starts(att, new_nip):
    att.apply("directory.schedule.upserted", NIGHT, "rsud-night")
    serial = att.device()
    nurse = att.employee(new_nip("2"), schedule_id="rsud-night")
    att.enrol(serial, "5", nurse)
    att.post_attlog(serial, _line("5", "2025-01-27 20:55:00", 1) + _line("5", "2025-01-28 07:10:00", 2))
    att.work()
    [day] = att.days(nurse, MONDAY, date(2025, 1, 28))
    assert day["local_date"] == "2025-01-27"
    assert (day["status"], day["presence_minutes"], day["overtime_minutes"], day["scheduled_minutes"]) == (
        "present", 615, 10, 540)


@pytest.mark.parametrize("zone, utc_clock_in", [
    ("Asia/Makassar", "2025-01-26T23:30:00+00:00"),  # WITA, UTC+8
    ("Asia/Jayapura", "2025-01-26T22:30:00+00:00"),  # WIT, UTC+9
])
def test_wita_and_wit_devices_read_local_time_in_their_own_zone(att, new_nip, zone, utc_clock_in):
    serial = att.device(zone=zone)
    nip = att.employee(new_nip(), zone=zone)
    att.enrol(serial, "1", nip)
    att.post_attlog(serial, _line("1", "2025-01-27 07:30:00") + _line("1", "2025-01-27 16:00:00"))
    att.work()
    [day] = att.days(nip, MONDAY)
    assert (day["zone"], day["clock_in"], day["status"], day["late_minutes"]) == (zone, utc_clock_in, "present", 0)
    assert day["scheduled_start"] == utc_clock_in


def test_a_late_punch_rebuilds_the_day_with_a_new_version_and_a_resend_changes_nothing(att, new_nip):
    serial = att.device()
    nip = att.employee(new_nip())
    att.enrol(serial, "7", nip)
    att.post_attlog(serial, _line("7", "2025-01-27 07:45:00", 10))
    att.work()
    [first] = att.days(nip, MONDAY)
    assert (first["version"], first["status"], first["late_minutes"], first["late_band"]) == (1, "late", 15, "TL1")
    assert first["missing_clock_out"] is True and first["early_band"] == "PSW4"
    att.post_attlog(serial, _line("7", "2025-01-27 16:30:00", 11))  # came in with the next batch
    att.work()
    [second] = att.days(nip, MONDAY)
    assert (second["version"], second["missing_clock_out"], second["early_band"]) == (2, False, None)
    assert second["clock_out"] == "2025-01-27T09:30:00+00:00" and second["overtime_minutes"] == 30
    att.post_attlog(serial, _line("7", "2025-01-27 07:45:00", 10) + _line("7", "2025-01-27 16:30:00", 11))
    att.work()
    assert [e.data["version"] for e in att.outbox("attendance.day.built")] == [1, 2]


def test_a_change_in_a_month_closed_for_payroll_is_published_as_a_correction(att, new_nip):
    serial = att.device()
    nip = att.employee(new_nip(), unit_id="bkpsdm")
    att.enrol(serial, "3", nip)
    att.post_attlog(serial, _line("3", "2025-01-27 07:20:00"))
    att.work()
    att.apply("approvals.month.closed", {"unit_id": "bkpsdm", "year": 2025, "month": 1, "closed_by": new_nip(),
                                         "closed_at": "2025-02-05T03:00:00+00:00", "entry_count": 40})
    att.post_attlog(serial, _line("3", "2025-01-27 16:05:00"))
    att.work()
    [day] = att.days(nip, MONDAY)
    assert (day["version"], day["correction"], day["status"]) == (2, True, "present")
    assert [e.data["correction"] for e in att.outbox("attendance.day.built")] == [False, True]


def test_the_daily_build_gives_everyone_a_day_absent_leave_holiday_or_off(att, new_nip, token):
    absent, on_leave, on_duty = (att.employee(new_nip()) for _ in range(3))
    for nip, kind, reference in ((on_leave, "leave", None), (on_duty, "duty", "800/123/BKPSDM/2025")):
        response = att.client.post("/absences", json={"employee_id": nip, "kind": kind, "start_date": "2025-01-27",
                                                      "end_date": "2025-01-28", "reference": reference},
                                   headers=att.admin)
        assert response.status_code == 201, response.json
    assert att.client.post("/days/build", json={"date": "2025-01-27"}, headers=att.admin).json["employees"] == 3
    status = {nip: att.days(nip, MONDAY)[0]["status"] for nip in (absent, on_leave, on_duty)}
    assert status == {absent: "absent", on_leave: "leave", on_duty: "duty"}
    assert att.days(on_duty, MONDAY)[0]["absence_reference"] == "800/123/BKPSDM/2025"
    att.apply("directory.holiday.upserted", {"date": "2025-01-29", "name": "Isra Mikraj"}, "2025-01-29")
    att.client.post("/days/build", json={"date": "2025-01-29"}, headers=att.admin)
    att.client.post("/days/build", json={"date": "2025-02-01"}, headers=att.admin)
    assert att.days(absent, date(2025, 1, 29))[0]["status"] == "holiday"
    assert att.days(absent, date(2025, 2, 1))[0]["status"] == "off"  # Saturday
    again = att.client.post("/days/build", json={"date": "2025-01-27"}, headers=att.admin).json
    assert again["days_changed"] == 0  # built twice, published once
    # a leave recorded after the day was built as absent rebuilds it
    att.client.post("/absences", json={"employee_id": absent, "kind": "sick", "start_date": "2025-01-27",
                                       "end_date": "2025-01-27"}, headers=att.admin)
    [day] = att.days(absent, MONDAY)
    assert (day["status"], day["version"]) == ("sick", 2)
    ops = token(new_nip(), "staff")
    assert att.client.post("/days/build", json={"date": "2025-01-27"}, headers=ops).status_code == 403
    future = att.client.post("/days/build", json={"date": "2999-01-01"}, headers=att.admin)
    assert future.status_code == 422 and future.json["errors"][0]["field"] == "date"


def test_finished_dates_are_built_for_everyone_once_and_missed_dates_are_caught_up(att, new_nip):
    from datetime import UTC, datetime

    from attendance.jobs import close_finished_dates
    config = att.client.application.extensions["kinerja"].service
    nobody_punched = new_nip()
    att.employee(nobody_punched)

    def close(at: datetime):
        return close_finished_dates(att.sessions, config, at)

    # Tuesday 28 January 2025, 05:00 UTC = 12:00 WIB: Monday the 27th ended twelve hours ago.
    assert close(datetime(2025, 1, 28, 5, 0, tzinfo=UTC)) == [date(2025, 1, 27)]
    assert [d["status"] for d in att.days(nobody_punched, date(2025, 1, 27))] == ["absent"]
    assert close(datetime(2025, 1, 28, 9, 0, tzinfo=UTC)) == []  # built once
    # The job was down until Friday noon: Tuesday to Thursday are caught up, in order.
    assert close(datetime(2025, 1, 31, 5, 0, tzinfo=UTC)) == [date(2025, 1, 28), date(2025, 1, 29), date(2025, 1, 30)]
    statuses = [d["status"] for d in att.days(nobody_punched, date(2025, 1, 27), date(2025, 1, 30))]
    assert statuses == ["absent"] * 4
    # Before noon WIB the previous date is not finished yet (night shifts may still clock out).
    assert close(datetime(2025, 2, 1, 4, 0, tzinfo=UTC)) == []


def test_a_holiday_declared_late_turns_built_absences_into_a_holiday(att, new_nip):
    nip = new_nip()
    att.employee(nip)
    att.client.post("/days/build", json={"date": "2025-01-27"}, headers=att.admin)
    assert [(d["status"], d["version"]) for d in att.days(nip, date(2025, 1, 27))] == [("absent", 1)]
    att.apply("directory.holiday.upserted", {"date": "2025-01-27", "name": "Cuti bersama"}, "2025-01-27")
    assert [(d["status"], d["version"]) for d in att.days(nip, date(2025, 1, 27))] == [("holiday", 2)]
    republished = [e.data for e in att.outbox("attendance.day.built") if e.key == nip]
    assert [(d["status"], d["version"]) for d in republished] == [("absent", 1), ("holiday", 2)]
