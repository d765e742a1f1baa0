"""The directory API on a real PostgreSQL: roster import, validation, authorisation, change events."""
import json

import pytest
from sqlalchemy import create_engine, select

pytestmark = pytest.mark.postgres

HEAD = "197001011995031001"
STAFF = "198503122010011002"
OTHER = "199002022015032003"
ADMIN = "198001012005011004"

ROSTER = f"""\ufeffnip;nama;unit_id;unit_name;parent_unit_id;position_id;position_name;job_class;position_kind;supervisor_nip;acting_supervisor_nip;status;zone;device_serial;device_pin
{HEAD};Kepala Dinas;DISKOMINFO;Dinas Komunikasi dan Informatika;;KADIS;Kepala Dinas;14;struktural;;;PNS;WIB;CQUJ1;1
{STAFF};Siti Aminah;DISKOMINFO;Dinas Komunikasi dan Informatika;;ANALIS;Analis Sistem;9;fungsional;{HEAD};;PNS;WIB;CQUJ1;2
12345;Nomor Pendek;DISKOMINFO;Dinas Komunikasi dan Informatika;;ANALIS;Analis Sistem;9;fungsional;;;PNS;WIB;;
199001012020012005;Status Salah;DISKOMINFO;Dinas Komunikasi dan Informatika;;ANALIS;Analis Sistem;9;fungsional;;;HONOR;WIB;;
199001012020012006;Kelas Salah;DISKOMINFO;Dinas Komunikasi dan Informatika;;PRANATA;Pranata;20;pelaksana;;;PNS;WIB;;
{OTHER};Budi Santoso;DISKOMINFO;Dinas Komunikasi dan Informatika;;ANALIS;Analis Sistem;9;fungsional;{HEAD};{STAFF};CPNS;WITA;CQUJ1;3
{STAFF};Siti Lagi;DISKOMINFO;Dinas Komunikasi dan Informatika;;ANALIS;Analis Sistem;9;fungsional;;;PNS;WIB;;
"""


@pytest.fixture
def directory(new_database, make_app):
    url = new_database("directory")
    app = make_app("directory", url)
    return app.test_client(), url


def _outbox_types(url):
    from directory.tables import outbox
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(outbox.c.type, outbox.c.key, outbox.c.payload).order_by(outbox.c.id)).all()
    engine.dispose()
    return rows


def test_roster_import_keeps_good_rows_reports_bad_ones_and_is_idempotent(directory, token):
    client, url = directory
    admin = token(ADMIN, "admin")
    first = client.post("/roster/imports", data=ROSTER.encode(), headers={**admin, "Content-Type": "text/csv"})
    assert first.status_code == 200
    report = first.json
    assert report["rows_accepted"] == 3
    assert {(e["line"], e["field"]) for e in report["errors"]} == {
        (4, "nip"), (5, "status"), (6, "job_class"), (8, "nip")}
    assert all(e["reason"] for e in report["errors"])
    employees = {e["employee_id"]: e for e in client.get("/employees", headers=admin).json["employees"]}
    assert set(employees) == {HEAD, STAFF, OTHER}
    assert employees[OTHER]["zone"] == "Asia/Makassar" and employees[OTHER]["acting_supervisor_id"] == STAFF
    published = _outbox_types(url)
    assert [t for t, _, _ in published].count("directory.employee.upserted") == 3
    assert [t for t, _, _ in published].count("directory.enrolment.upserted") == 3
    again = client.post("/roster/imports", data=ROSTER.encode(), headers={**admin, "Content-Type": "text/csv"})
    assert again.json["changes"] == 0
    assert len(_outbox_types(url)) == len(published)  # nothing new to publish


def test_multipart_upload_is_accepted(directory, token):
    client, _ = directory
    import io
    response = client.post("/roster/imports", headers=token(ADMIN, "admin"),
                           data={"file": (io.BytesIO(ROSTER.encode()), "roster.csv")}, content_type="multipart/form-data")
    assert response.status_code == 200 and response.json["rows_accepted"] == 3


@pytest.mark.parametrize("path, body, field", [
    ("/employees/123456789012345678", {"name": "X", "unit_id": "DISKOMINFO", "status": "PNS", "zone": "Asia/Jakarta"}, "employee_id"),
    (f"/employees/{ADMIN}", {"name": "X", "unit_id": "NOPE", "status": "PNS", "zone": "Asia/Jakarta"}, "unit_id"),
    (f"/employees/{ADMIN}", {"name": "X", "unit_id": "DISKOMINFO", "status": "HONOR", "zone": "Asia/Jakarta"}, "status"),
    ("/units/A", {"name": "A", "parent_unit_id": "MISSING"}, "parent_unit_id"),
    ("/positions/P", {"name": "P", "job_class": 18, "kind": "structural"}, "job_class"),
    ("/schedules/S", {"name": "S", "days": [{"weekday": 0, "start": "25:00", "end": "16:00", "break_minutes": 60}]}, "days.0.start"),
])
def test_invalid_records_are_refused_naming_the_field(directory, token, path, body, field):
    client, _ = directory
    client.put("/units/DISKOMINFO", json={"name": "Dinas Kominfo"}, headers=token(ADMIN, "admin"))
    response = client.put(path, json=body, headers=token(ADMIN, "admin"))
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in [e["field"] for e in response.json["errors"]]


def test_a_unit_cannot_become_its_own_ancestor(directory, token):
    client, _ = directory
    admin = token(ADMIN, "admin")
    assert client.put("/units/A", json={"name": "A"}, headers=admin).status_code == 200
    assert client.put("/units/B", json={"name": "B", "parent_unit_id": "A"}, headers=admin).status_code == 200
    response = client.put("/units/A", json={"name": "A", "parent_unit_id": "B"}, headers=admin)
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "parent_unit_id"


def test_schedule_with_ramadan_variant_and_overnight_shift_is_stored_and_published(directory, token):
    client, url = directory
    admin = token(ADMIN, "admin")
    night = {"name": "Jaga malam RSUD", "days": [{"weekday": d, "start": "21:00", "end": "07:00", "break_minutes": 60} for d in range(7)]}
    assert client.put("/schedules/RS-MALAM", json=night, headers=admin).status_code == 200
    ramadan = {"name": "Perpres 21/2023", "days": [
        {"weekday": d, "start": "07:30", "end": "16:00", "break_minutes": 60} for d in range(4)] + [
        {"weekday": 4, "start": "07:30", "end": "16:30", "break_minutes": 90}],
        "variants": [{"name": "ramadan", "start_date": "2026-02-18", "end_date": "2026-03-19", "days": [
            {"weekday": d, "start": "08:00", "end": "15:00", "break_minutes": 30} for d in range(4)] + [
            {"weekday": 4, "start": "08:00", "end": "15:30", "break_minutes": 60}]}]}
    assert client.put("/schedules/PERPRES", json=ramadan, headers=admin).status_code == 200
    types = [t for t, _, _ in _outbox_types(url)]
    assert types.count("directory.schedule.upserted") == 2
    stored = client.get("/schedules", headers=token(STAFF, "staff")).json["schedules"]
    assert {s["schedule_id"] for s in stored} == {"RS-MALAM", "PERPRES"}


def test_who_may_see_and_change_what(directory, token):
    client, _ = directory
    client.post("/roster/imports", data=ROSTER.encode(), headers={**token(ADMIN, "admin"), "Content-Type": "text/csv"})
    assert client.get("/employees").status_code == 401
    assert client.get("/employees", headers={"Authorization": "Bearer forged.token.here"}).status_code == 401
    staff = token(OTHER, "staff")
    assert [e["employee_id"] for e in client.get("/employees", headers=staff).json["employees"]] == [OTHER]
    assert client.get(f"/employees/{HEAD}", headers=staff).status_code == 403
    assert client.put("/units/X", json={"name": "X"}, headers=staff).status_code == 403
    # Siti is Budi's acting supervisor (Plt): she sees him; the head, displaced by the Plt, sees only Siti.
    siti = token(STAFF, "staff", "supervisor")
    assert [e["employee_id"] for e in client.get("/employees", headers=siti).json["employees"]] == [OTHER]
    assert client.get(f"/employees/{OTHER}", headers=siti).status_code == 200
    head = token(HEAD, "staff", "supervisor")
    assert [e["employee_id"] for e in client.get("/employees", headers=head).json["employees"]] == [STAFF]


def test_roles_are_granted_by_an_admin_and_validated(directory, token):
    client, url = directory
    client.post("/roster/imports", data=ROSTER.encode(), headers={**token(ADMIN, "admin"), "Content-Type": "text/csv"})
    response = client.put(f"/employees/{STAFF}/roles", json={"roles": ["staff", "verifier"]}, headers=token(ADMIN, "admin"))
    assert response.status_code == 200 and response.json["employee"]["roles"] == ["staff", "verifier"]
    bad = client.put(f"/employees/{STAFF}/roles", json={"roles": ["staff", "king"]}, headers=token(ADMIN, "admin"))
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "roles"
    last = json.loads(_outbox_types(url)[-1][2])
    assert last["data"]["roles"] == ["staff", "verifier"]


def test_common_endpoints(directory):
    client, _ = directory
    assert client.get("/healthz").json["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json["checks"] == {"database": "ok", "kafka": "unreachable"}
    spec = client.get("/openapi.json").json
    assert "/roster/imports" in spec["paths"] and "/employees/{employee_id}" in spec["paths"]
    assert b"kinerja_http_requests_total" in client.get("/metrics").data
    response = client.get("/nope", headers={"X-Request-ID": "abc123"})
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert response.headers["X-Request-ID"] == "abc123"


def test_a_verifier_reads_the_people_of_their_assigned_units_only(directory, token):
    from directory.consumers import handlers
    from directory.tables import metadata
    from runtime.config import Settings
    from runtime.consumer import EventConsumer
    from runtime.db import make_engine, make_session_factory
    from runtime.events import make_event
    client, url = directory
    client.post("/roster/imports", data=ROSTER.encode(), headers={**token(ADMIN, "admin"), "Content-Type": "text/csv"})
    verifier = token(ADMIN, "verifier")
    assert [e["employee_id"] for e in client.get("/employees", headers=verifier).json["employees"]] == []
    assert client.get(f"/employees/{STAFF}", headers=verifier).status_code == 403
    engine = make_engine(url)
    consumer = EventConsumer("directory", None, None, make_session_factory(engine, metadata),
                             handlers(Settings.from_env("directory", {})))
    for unit in ("DISKOMINFO", "DINKES"):
        consumer.apply(make_event("approvals.verifier.assigned", f"{ADMIN}:{unit}",
                                  {"verifier_id": ADMIN, "unit_id": unit, "active": True}, "approvals"))
    engine.dispose()
    listed = client.get("/employees?unit_id=DISKOMINFO", headers=verifier).json["employees"]
    assert sorted(e["employee_id"] for e in listed) == sorted([HEAD, STAFF, OTHER])
    assert client.get(f"/employees/{STAFF}", headers=verifier).status_code == 200


# --- holidays from the national calendar ------------------------------------------------------------------------

def _holiday_events(url):
    return [(key, json.loads(payload)["data"]) for type_, key, payload in _outbox_types(url)
            if type_ == "directory.holiday.upserted"]


def test_seeded_holidays_wait_for_the_admin_and_only_confirmed_ones_are_published(directory, token):
    client, url = directory
    admin = token(ADMIN, "admin")
    # A regional holiday added by hand before the seed: in force, and left alone by it.
    assert client.put("/holidays/2026-04-20", json={"name": "Hari Jadi Kabupaten"}, headers=admin).status_code == 200
    seeded = client.post("/holidays/seed", json={"year": 2026}, headers=admin)
    assert seeded.status_code == 200, seeded.json
    assert (seeded.json["proposed"], seeded.json["kept"], seeded.json["withdrawn"]) == (25, 0, 0)
    proposed = {h["date"]: h for h in client.get("/holidays?status=proposed&year=2026", headers=admin).json["holidays"]}
    assert proposed["2026-08-17"] == {"date": "2026-08-17", "name": "Hari Kemerdekaan Republik Indonesia",
                                      "active": True, "confirmed": False, "source": "holidays 0.109 ID public"}
    assert proposed["2026-03-23"]["source"] == "holidays 0.109 ID government"  # cuti bersama Idul Fitri
    # Not in force yet: not in the calendar, not published (attendance learns holidays only from the event).
    calendar = client.get("/holidays", headers=token(STAFF, "staff")).json["holidays"]
    assert [h["date"] for h in calendar] == ["2026-04-20"]
    assert [key for key, _ in _holiday_events(url)] == ["2026-04-20"]
    assert client.get("/holidays?status=proposed", headers=token(STAFF, "staff")).status_code == 403

    # Confirm one as it is, adjust one (name), move one (date), remove one.
    assert client.post("/holidays/2026-01-01/confirm", headers=admin).json["holiday"]["confirmed"] is True
    renamed = client.patch("/holidays/2026-08-17", json={"name": "HUT RI ke-81"}, headers=admin)
    assert renamed.status_code == 200 and renamed.json["holiday"]["name"] == "HUT RI ke-81"
    moved = client.patch("/holidays/2026-12-24", json={"date": "2026-12-26"}, headers=admin)
    assert moved.json["holiday"] == {"date": "2026-12-26", "name": "Cuti Bersama Hari Raya Natal", "active": True,
                                     "confirmed": True, "source": "holidays 0.109 ID government"}
    assert client.delete("/holidays/2026-05-15", headers=admin).status_code == 204
    clash = client.patch("/holidays/2026-03-20", json={"date": "2026-04-20"}, headers=admin)
    assert clash.status_code == 422 and clash.json["errors"][0]["field"] == "date"
    events = _holiday_events(url)
    assert [(key, data["name"], data["active"]) for key, data in events[1:]] == [
        ("2026-01-01", "Tahun Baru Masehi", True), ("2026-08-17", "HUT RI ke-81", True),
        ("2026-12-26", "Cuti Bersama Hari Raya Natal", True)]  # the moved proposal was never published

    # A re-seed: idempotent, and none of the admin's decisions is undone.
    again = client.post("/holidays/seed", json={"year": 2026}, headers=admin).json
    assert (again["proposed"], again["renamed"], again["withdrawn"]) == (0, 0, 0)
    assert again["kept"] == 4  # 1 Jan, 17 Aug (decided), 24 Dec (moved away), 15 May (removed)
    in_force = {h["date"]: h["name"] for h in client.get("/holidays", headers=admin).json["holidays"] if h["active"]}
    assert in_force == {"2026-01-01": "Tahun Baru Masehi", "2026-04-20": "Hari Jadi Kabupaten",
                        "2026-08-17": "HUT RI ke-81", "2026-12-26": "Cuti Bersama Hari Raya Natal"}
    still = {h["date"] for h in client.get("/holidays?status=proposed&year=2026", headers=admin).json["holidays"]}
    assert "2026-05-15" not in still and "2026-12-24" not in still and len(still) == 25 - 4
    assert _holiday_events(url) == events  # nothing published by the re-seed


def test_only_the_admin_seeds_and_a_bad_year_is_named(directory, token):
    client, _ = directory
    assert client.post("/holidays/seed", json={"year": 2026}, headers=token(STAFF, "staff")).status_code == 403
    bad = client.post("/holidays/seed", json={"year": "dua ribu"}, headers=token(ADMIN, "admin"))
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "year"
    assert client.post("/holidays/2026-02-30/confirm", headers=token(ADMIN, "admin")).status_code == 422
    assert client.post("/holidays/2026-02-03/confirm", headers=token(ADMIN, "admin")).status_code == 404


def test_geofences_are_set_by_the_admin_validated_by_shape_and_published(directory, token):
    client, url = directory
    admin = token(ADMIN, "admin")
    client.put("/units/DINKES", json={"name": "Dinas Kesehatan"}, headers=admin)
    circle = {"unit_id": "DINKES", "name": "Puskesmas Kenjeran", "kind": "circle",
              "latitude": -7.2291, "longitude": 112.7798, "radius_m": 150}
    saved = client.put("/geofences/pkm-kenjeran", json=circle, headers=admin)
    assert saved.status_code == 200, saved.json
    assert saved.json["changed"] and saved.json["geofence"]["radius_m"] == 150.0
    outline = {"unit_id": "DINKES", "name": "Kantor Dinas", "kind": "polygon",
               "vertices": [[-7.2600, 112.7500], [-7.2600, 112.7510], [-7.2590, 112.7510], [-7.2590, 112.7500]]}
    assert client.put("/geofences/kantor-dinkes", json=outline, headers=admin).status_code == 200
    assert client.put("/geofences/kantor-dinkes", json=outline, headers=admin).json["changed"] is False

    bad = client.put("/geofences/x", json={**circle, "radius_m": None, "vertices": [[0, 0], [0, 1], [1, 1]]},
                     headers=admin)
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json["errors"]} == {"radius_m", "vertices"}
    unknown_unit = client.put("/geofences/x", json={**circle, "unit_id": "NOWHERE"}, headers=admin)
    assert unknown_unit.status_code == 422 and unknown_unit.json["errors"][0]["field"] == "unit_id"
    assert client.put("/geofences/x", json=circle, headers=token(STAFF, "staff")).status_code == 403

    listed = client.get("/geofences?unit_id=DINKES", headers=token(STAFF, "staff")).json["geofences"]
    assert [(g["fence_id"], g["kind"]) for g in listed] == [("kantor-dinkes", "polygon"), ("pkm-kenjeran", "circle")]
    assert listed[0]["vertices"][0] == [-7.26, 112.75]
    published = [(t, k, json.loads(p)) for t, k, p in _outbox_types(url) if t == "directory.geofence.upserted"]
    assert [k for _, k, _ in published] == ["pkm-kenjeran", "kantor-dinkes"]
    assert published[0][2]["data"]["radius_m"] == 150.0


def test_working_anywhere_is_set_by_the_admin_and_kept_by_later_changes_and_imports(directory, token):
    client, url = directory
    admin = token(ADMIN, "admin")
    assert client.post("/roster/imports", data=ROSTER.encode(), headers={**admin, "Content-Type": "text/csv"}).json[
        "rows_accepted"] == 3
    staff = client.get(f"/employees/{STAFF}", headers=admin).json
    assert staff["work_anywhere"] is False
    body = {k: v for k, v in staff.items() if k not in ("employee_id", "work_anywhere")}
    assert client.put(f"/employees/{STAFF}", json={**body, "work_anywhere": True}, headers=admin).json["changed"]
    assert client.put(f"/employees/{STAFF}", json={**body, "name": "Siti A."}, headers=admin).json[
        "employee"]["work_anywhere"] is True  # left out: kept
    client.post("/roster/imports", data=ROSTER.encode(), headers={**admin, "Content-Type": "text/csv"})
    assert client.get(f"/employees/{STAFF}", headers=admin).json["work_anywhere"] is True
    published = [json.loads(p)["data"] for t, k, p in _outbox_types(url) if k == STAFF and "employee" in t]
    assert published[-1]["work_anywhere"] is True
