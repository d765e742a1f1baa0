"""Check-ins from a phone on PostgreSQL: kept at the server's time, judged against the unit's fences, doubts
marked with their evidence, reviewed by the supervisor; a rejected check-in stops counting, nothing is lost.

Distances: 0.001° of latitude is 111.195 m (attendance.domain.presence), so a fix 0.002° north of a 100 m
circle's centre is 222.4 − 100 = 122.4 m outside it.
"""
import io
import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from attendance import tables

pytestmark = pytest.mark.postgres
LAT, LON = -7.2291, 112.7798  # Puskesmas Kenjeran, Surabaya


def _photo() -> bytes:
    return b"\xff\xd8\xff\xe0" + os.urandom(2048)  # a JPEG's first bytes; a fresh picture each time


def _check_in(att, token, nip, lat=LAT, lon=LON, accuracy="12", photo=None, **extra):
    form = {"latitude": str(lat), "longitude": str(lon), "accuracy_m": accuracy, **extra,
            "photo": (io.BytesIO(_photo() if photo is None else photo), "foto.jpg")}
    return att.client.post("/checkins", data=form, content_type="multipart/form-data", headers=token(nip, "staff"))


@pytest.fixture
def site(att, new_nip):
    boss = att.employee(new_nip())
    nurse = att.employee(new_nip(), supervisor_id=boss)
    att.apply("directory.geofence.upserted", {"fence_id": "pkm-kenjeran", "unit_id": "dinkes", "name": "Puskesmas",
                                              "kind": "circle", "latitude": LAT, "longitude": LON, "radius_m": 100.0,
                                              "vertices": None, "active": True}, "pkm-kenjeran")
    return boss, nurse


def test_a_check_in_inside_the_fence_is_a_punch_like_any_other(att, token, site):
    boss, nurse = site
    before = datetime.now(UTC).replace(microsecond=0)
    answer = _check_in(att, token, nurse, lat=LAT + 0.0005, device_time=datetime.now(UTC).isoformat())
    assert answer.status_code == 201, answer.json
    checkin = answer.json
    assert checkin["fence"] == {"inside": True, "fence_id": "pkm-kenjeran", "distance_m": 0.0, "exempt": False}
    assert checkin["doubts"] == [] and checkin["review"]["state"] == "none"
    assert before <= datetime.fromisoformat(checkin["at"]) <= datetime.now(UTC)  # the server's clock
    today = datetime.fromisoformat(checkin["at"]).astimezone(tables_zone()).date()
    [punch] = att.punches(nurse, today)
    assert (punch["punch_id"], punch["source"], punch["origin"], punch["voided_at"]) == (
        checkin["punch_id"], "mobile", "portal", None)
    [day] = att.days(nurse, today)  # built with the check-in
    # a lone punch is the arrival up to the shift's midpoint (11:45 WIB) and the departure after it
    assert checkin["at"] in (day["clock_in"], day["clock_out"])


def tables_zone():
    from zoneinfo import ZoneInfo
    return ZoneInfo("Asia/Jakarta")


def test_a_doubtful_check_in_is_kept_and_goes_to_the_supervisor(att, token, new_nip, site):
    boss, nurse = site
    skewed = (datetime.now(UTC) + timedelta(minutes=20)).isoformat()
    answer = _check_in(att, token, nurse, lat=LAT + 0.002, accuracy="250", device_time=skewed)
    assert answer.status_code == 201, answer.json
    doubts = {d["kind"]: d["evidence"] for d in answer.json["doubts"]}
    assert set(doubts) == {"inaccurate", "outside_fence", "clock_skew"}
    assert doubts["outside_fence"] == {"nearest_fence": "pkm-kenjeran", "distance_m": 122.4}
    assert doubts["inaccurate"] == {"accuracy_m": 250.0, "limit_m": 100.0}
    assert 1190 <= doubts["clock_skew"]["skew_s"] <= 1201  # against the recorded second
    assert answer.json["review"]["state"] == "pending"

    queue = att.client.get("/checkins/review", headers=token(boss, "supervisor")).json["checkins"]
    assert [c["punch_id"] for c in queue] == [answer.json["punch_id"]]
    assert att.client.get("/checkins/review", headers=token(new_nip(), "supervisor")).json["checkins"] == []
    # the nurse sees everything kept about her, the photo included; a stranger sees none of it
    mine = att.client.get("/checkins", headers=token(nurse, "staff")).json["checkins"]
    assert [(c["latitude"], c["longitude"], c["accuracy_m"]) for c in mine] == [(LAT + 0.002, LON, 250.0)]
    photo = f"/checkins/{answer.json['punch_id']}/photo"
    assert att.client.get(photo, headers=token(nurse, "staff")).status_code == 200
    assert att.client.get(photo, headers=token(boss, "supervisor")).mimetype == "image/jpeg"
    assert att.client.get(photo, headers=token(new_nip(), "staff")).status_code == 403


def test_a_rejected_check_in_stops_counting_and_a_review_is_final(att, token, new_nip, site):
    boss, nurse = site
    punch_id = _check_in(att, token, nurse, lat=LAT + 0.01).json["punch_id"]
    review = f"/checkins/{punch_id}/review"
    no_reason = att.client.post(review, json={"verdict": "reject"}, headers=token(boss, "supervisor"))
    assert no_reason.status_code == 422 and no_reason.json["errors"][0]["field"] == "reason"
    stranger = att.client.post(review, json={"verdict": "confirm"}, headers=token(new_nip(), "supervisor"))
    assert stranger.status_code == 403
    rejected = att.client.post(review, json={"verdict": "reject", "reason": "tidak di lokasi tugas"},
                               headers=token(boss, "supervisor"))
    assert rejected.status_code == 200, rejected.json
    assert rejected.json["review"] | {"at": None} == {"state": "rejected", "by": boss, "at": None,
                                                      "reason": "tidak di lokasi tugas"}
    today = datetime.fromisoformat(rejected.json["at"]).astimezone(tables_zone()).date()
    [punch] = att.punches(nurse, today)  # kept, marked
    assert punch["voided_at"] is not None
    [day] = att.days(nurse, today)  # rebuilt without it
    assert day["clock_in"] is None and day["version"] == 2
    again = att.client.post(review, json={"verdict": "confirm"}, headers=token(boss, "supervisor"))
    assert again.status_code == 409
    assert att.client.get("/checkins/review", headers=token(boss, "supervisor")).json["checkins"] == []


def test_official_duty_exempts_the_fence_and_a_reused_photo_is_doubted(att, token, site):
    boss, nurse = site
    today = datetime.now(UTC).astimezone(tables_zone()).date()
    duty = {"employee_id": nurse, "kind": "duty", "start_date": str(today), "end_date": str(today),
            "reference": "094/123/436.7.2/2026"}
    assert att.client.post("/absences", json=duty, headers=token(boss, "supervisor")).status_code == 201
    photo = _photo()
    first = _check_in(att, token, nurse, lat=LAT + 0.05, photo=photo)  # 5.6 km away, on duty: no doubt
    assert first.status_code == 201
    assert first.json["fence"]["exempt"] is True and first.json["doubts"] == []
    time.sleep(1.1)  # a second check-in in the same second is refused as a double tap (below)
    second = _check_in(att, token, nurse, lat=LAT + 0.0501, photo=photo)
    kinds = {d["kind"]: d["evidence"] for d in second.json["doubts"]}
    assert kinds == {"photo_reused": {"photo_sha256": first.json["photo_sha256"], "first_punch": first.json["punch_id"]}}


def test_raw_coordinates_are_forgotten_after_the_policy_s_days_and_the_verdict_stays(att, token, site):
    boss, nurse = site
    punch_id = _check_in(att, token, nurse, lat=LAT + 0.002).json["punch_id"]
    with att.sessions() as session, session.begin():
        session.execute(update(tables.checkins).where(tables.checkins.c.punch_id == int(punch_id))
                        .values(coordinates_until=datetime.now(UTC) - timedelta(seconds=1)))
    [kept] = att.client.get("/checkins", headers=token(nurse, "staff")).json["checkins"]
    assert (kept["latitude"], kept["longitude"]) == (None, None)
    assert kept["fence"]["distance_m"] == 122.4 and kept["doubts"][0]["kind"] == "outside_fence"


def test_bad_check_ins_are_refused_naming_the_field(att, token, site):
    boss, nurse = site
    not_an_image = _check_in(att, token, nurse, photo=b"%PDF-1.7 not a photo")
    assert not_an_image.status_code == 422 and not_an_image.json["errors"][0]["field"] == "photo"
    no_photo = att.client.post("/checkins", data={"latitude": str(LAT), "longitude": str(LON), "accuracy_m": "5"},
                               content_type="multipart/form-data", headers=token(nurse, "staff"))
    assert no_photo.status_code == 422 and no_photo.json["errors"][0]["field"] == "photo"
    off_earth = _check_in(att, token, nurse, lat=123)
    assert off_earth.status_code == 422 and off_earth.json["errors"][0]["field"] == "latitude"
    as_json = att.client.post("/checkins", json={"latitude": LAT}, headers=token(nurse, "staff"))
    assert as_json.status_code == 400
    assert att.client.post("/checkins", data={}, content_type="multipart/form-data").status_code == 401
    assert att.punches(nurse, datetime.now(UTC).astimezone(tables_zone()).date()) == []  # nothing half-stored
    assert _check_in(att, token, nurse).status_code == 201
    double_tap = _check_in(att, token, nurse)
    assert double_tap.status_code in (201, 409)  # 409 when it falls in the same second: not taken twice
    if double_tap.status_code == 409:
        assert len(att.punches(nurse, datetime.now(UTC).astimezone(tables_zone()).date())) == 1


def test_the_day_says_which_check_ins_await_review_until_the_supervisor_decides(att, token, site):
    boss, nurse = site
    punch_id = _check_in(att, token, nurse, lat=LAT + 0.002).json["punch_id"]
    [built] = att.outbox("attendance.day.built")
    assert built.data["doubtful_punches"] == [{"punch_id": punch_id, "doubts": ["outside_fence"]}]
    confirmed = att.client.post(f"/checkins/{punch_id}/review", json={"verdict": "confirm"},
                                headers=token(boss, "supervisor"))
    assert confirmed.status_code == 200 and confirmed.json["review"]["state"] == "confirmed"
    first, second = att.outbox("attendance.day.built")
    assert second.data["version"] == 2 and second.data["doubtful_punches"] == []
    assert second.data["punch_ids"] == [punch_id] and second.data["clock_in"] == first.data["clock_in"]


def test_on_a_work_from_anywhere_weekday_the_fence_is_not_a_doubt(new_database, make_app, token, new_nip, tmp_path):
    from pathlib import Path
    national = (Path(__file__).resolve().parents[3] / "deploy" / "policies" / "national.toml").read_text()
    policy = tmp_path / "wfa.toml"
    policy.write_text(national.replace("[attendance]", "[attendance.presence]\nanywhere_weekdays = [1, 2, 3, 4, 5, 6, 7]"
                                       "\n\n[attendance]", 1))
    app = make_app("attendance", new_database("attendance"), policy_file=str(policy))
    from attendance.consumers import handlers
    from attendance.tables import metadata
    from runtime.consumer import EventConsumer
    from runtime.db import make_engine, make_session_factory
    from runtime.events import make_event
    engine = make_engine(app.config["SETTINGS"].database_url)
    consumer = EventConsumer("attendance", None, None, make_session_factory(engine, metadata),
                             handlers(app.config["SETTINGS"]))
    nurse = new_nip()
    consumer.apply(make_event("directory.employee.upserted", nurse, {
        "employee_id": nurse, "name": "Ns. Wulan", "unit_id": "dinkes", "status": "PNS", "zone": "Asia/Jakarta"},
        "test"))
    answer = app.test_client().post("/checkins", data={
        "latitude": str(LAT + 0.3), "longitude": str(LON), "accuracy_m": "10",
        "photo": (io.BytesIO(_photo()), "foto.jpg")}, content_type="multipart/form-data", headers=token(nurse, "staff"))
    assert answer.status_code == 201, answer.json
    assert answer.json["fence"]["exempt"] is True and answer.json["doubts"] == []
    engine.dispose()
    app.extensions["kinerja"].engine.dispose()


def test_someone_who_works_anywhere_is_never_outside_the_fence(att, token, new_nip):
    extension_worker = new_nip()
    att.apply("directory.employee.upserted", {
        "employee_id": extension_worker, "name": "Penyuluh", "unit_id": "dinkes", "status": "PNS",
        "zone": "Asia/Jakarta", "work_anywhere": True}, extension_worker)
    answer = _check_in(att, token, extension_worker, lat=LAT + 0.2)
    assert answer.status_code == 201 and answer.json["fence"]["exempt"] is True and answer.json["doubts"] == []
