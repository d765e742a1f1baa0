"""The JSON API on PostgreSQL: batch punches from other clock sources, who may read what, devices."""
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update

from attendance import tables

pytestmark = pytest.mark.postgres

MONDAY = date(2025, 1, 27)


def test_a_punch_batch_keeps_good_items_reports_bad_ones_and_dedupes(att, new_nip, token):
    serial = att.device(zone="Asia/Makassar")
    nip, other = att.employee(new_nip(), zone="Asia/Makassar"), att.employee(new_nip())
    att.enrol(serial, "12", other)
    items = [
        {"employee_id": nip, "local_time": "2025-01-27T07:31:00", "source": "mobile-geofence"},
        {"employee_id": nip, "at": "2025-01-27T08:05:00+00:00", "source": "mobile-geofence"},
        {"device_serial": serial, "pin": "12", "local_time": "2025-01-27T07:10:00"},
        {"employee_id": nip, "local_time": "2025-01-27T07:31:00"},  # the same punch again
        {"employee_id": "123", "local_time": "2025-01-27T07:00:00"},
        {"employee_id": nip},
        {"employee_id": new_nip(), "local_time": "2025-01-27T07:00:00"},  # not in the directory
        {"device_serial": "NOPE1", "pin": "1", "local_time": "2025-01-27T07:00:00"},
    ]
    ops = token(new_nip(), "ops")
    response = att.client.post("/punches", json={"punches": items}, headers=ops)
    assert response.status_code == 200, response.json
    accepted = {a["index"]: a for a in response.json["accepted"]}
    assert sorted(accepted) == [0, 1, 2, 3] and accepted[3]["duplicate"] is True
    assert accepted[2]["employee_id"] == other
    rejected = {r["index"]: r["errors"][0]["field"] for r in response.json["rejected"]}
    assert rejected == {4: "employee_id", 5: "local_time", 6: "employee_id", 7: "device_serial"}
    punches = att.punches(nip, MONDAY)
    assert [(p["at"], p["origin"], p["source"]) for p in punches] == [
        ("2025-01-26T23:31:00+00:00", "mobile-geofence", "api"),  # 07:31 WITA
        ("2025-01-27T08:05:00+00:00", "mobile-geofence", "api")]
    again = att.client.post("/punches", json={"punches": items[:3]}, headers=ops).json
    assert all(a["duplicate"] for a in again["accepted"])
    staff = token(nip, "staff")
    assert att.client.post("/punches", json={"punches": items[:1]}, headers=staff).status_code == 403
    assert att.client.post("/punches", json={"punches": "no"}, headers=ops).status_code == 422


def test_staff_read_their_own_days_supervisors_their_reports_admins_everyone(att, new_nip, token):
    boss = att.employee(new_nip())
    acting = att.employee(new_nip())
    mine = att.employee(new_nip(), supervisor_id=boss)
    delegated = att.employee(new_nip(), supervisor_id=boss)
    att.apply("directory.employee.upserted", {"employee_id": delegated, "name": "x", "unit_id": "dinkes",
                                              "status": "PNS", "zone": "Asia/Jakarta", "supervisor_id": boss,
                                              "acting_supervisor_id": acting}, delegated)
    att.client.post("/days/build", json={"date": "2025-01-27"}, headers=att.admin)
    as_staff = token(mine, "staff")
    own = att.client.get("/days?from=2025-01-27&to=2025-01-27", headers=as_staff)
    assert own.status_code == 200 and own.json["employee_id"] == mine and own.json["days"][0]["status"] == "absent"
    assert att.client.get(f"/days?employee_id={boss}", headers=as_staff).status_code == 403
    as_boss = token(boss, "staff", "supervisor")
    assert att.client.get(f"/days?employee_id={mine}", headers=as_boss).status_code == 200
    assert att.client.get(f"/punches?employee_id={delegated}", headers=as_boss).status_code == 403  # a Plt approves
    assert att.client.get(f"/punches?employee_id={delegated}", headers=token(acting, "supervisor")).status_code == 200
    assert att.client.get("/days").status_code == 401
    bad = att.client.get(f"/days?employee_id={mine}&from=27-01-2025", headers=att.admin)
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "from"


def test_absences_are_recorded_by_an_admin_or_the_supervisor_and_duty_needs_its_letter(att, new_nip, token):
    boss = att.employee(new_nip())
    nip = att.employee(new_nip(), supervisor_id=boss)
    leave = {"employee_id": nip, "kind": "leave", "start_date": "2025-01-27", "end_date": "2025-01-31"}
    assert att.client.post("/absences", json=leave, headers=token(nip, "staff")).status_code == 403
    assert att.client.post("/absences", json=leave, headers=token(boss, "supervisor")).status_code == 201
    duty = dict(leave, kind="duty")
    refused = att.client.post("/absences", json=duty, headers=att.admin)
    assert refused.status_code == 422 and refused.json["errors"][0]["field"] == "reference"
    backwards = att.client.post("/absences", json=dict(leave, end_date="2025-01-01"), headers=att.admin)
    assert backwards.status_code == 422 and backwards.json["errors"][0]["field"] == "end_date"
    unknown_kind = att.client.post("/absences", json=dict(leave, kind="holiday"), headers=att.admin)
    assert unknown_kind.status_code == 422 and unknown_kind.json["errors"][0]["field"] == "kind"
    listed = att.client.get(f"/absences?employee_id={nip}&from=2025-01-01&to=2025-01-31", headers=token(nip, "staff"))
    assert [(a["kind"], a["recorded_by"]) for a in listed.json["absences"]] == [("leave", boss)]


def test_devices_show_last_contact_and_are_marked_silent_during_working_hours(att, new_nip, token):
    quiet, chatty = att.device(), att.device()
    att.client.get(f"/iclock/getrequest?SN={chatty}")
    # a weekday at 10:00 in Jakarta: working hours; the quiet device was last heard two hours before
    wednesday_ten = datetime(2025, 1, 29, 3, 0, tzinfo=UTC)
    long_ago = wednesday_ten - timedelta(hours=2)
    with att.sessions() as session, session.begin():
        session.execute(update(tables.devices).where(tables.devices.c.device_serial == quiet)
                        .values(last_seen_at=long_ago))
    from attendance.handlers import devices
    config = att.client.application.extensions["kinerja"].service
    with att.sessions() as session:
        rows = {r.device_serial: r for r in session.execute(tables.devices.select())}
        at_work = devices.device_view(rows[quiet], wednesday_ten, config, session)
        at_night = devices.device_view(rows[quiet], wednesday_ten + timedelta(hours=12), config, session)
    assert at_work["silent"] is True and at_night["silent"] is False
    listed = {d["device_serial"]: d for d in att.client.get("/devices", headers=token(new_nip(), "ops")).json["devices"]}
    assert listed[chatty]["silent"] is False and listed[quiet]["last_seen_at"] == long_ago.isoformat()
    assert att.client.get("/devices", headers=token(new_nip(), "staff")).status_code == 403


def test_a_list_without_dates_ends_today_where_the_employee_works(att, new_nip):
    """The server's date is UTC's; from midnight to 07:00 in Jakarta (09:00 in Jayapura) it is still yesterday
    there, and a list of punches, days, absences or check-ins without dates must still hold this morning's."""
    from attendance.handlers.shared import today_of
    config = att.client.application.extensions["kinerja"].service
    east, west = att.employee(new_nip("7"), zone="Asia/Jayapura"), att.employee(new_nip("8"), zone="Asia/Jakarta")
    with att.sessions() as session:
        late_evening_utc = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)  # 23:30 in Jakarta, 01:30 in Jayapura
        assert today_of(session, west, late_evening_utc, config) == date(2026, 12, 1)
        assert today_of(session, east, late_evening_utc, config) == date(2026, 12, 2)
        after_midnight = datetime(2026, 12, 1, 17, 30, tzinfo=UTC)  # 00:30 in Jakarta
        assert today_of(session, west, after_midnight, config) == date(2026, 12, 2)
        assert today_of(session, "199001012020011999", after_midnight, config) == date(2026, 12, 2)  # default zone
