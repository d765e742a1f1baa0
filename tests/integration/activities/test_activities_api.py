"""The activities API on a real PostgreSQL: catalogue import, entries, evidence, outcomes, locked months."""
import hashlib
import io
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from activities import handlers
from activities.tables import metadata
from runtime.access import apply_verifier_assignment
from runtime.events import make_event

pytestmark = pytest.mark.postgres
ZONE = "Asia/Jakarta"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200
CSV = ("kode;uraian_tugas;norma_waktu;satuan_output;unit_id\n"
       "SURAT;Menyusun konsep surat dinas;30;surat;\n"
       "RAPAT;Mengikuti rapat;notanumber;kegiatan;\n"
       "ARSIP;Mengarsipkan dokumen;10;berkas;DINKES\n")


@pytest.fixture
def svc(new_database, make_app, new_nip, token, tmp_path):
    """An activities app with a catalogue and three employees: staff, their Plt approver, an outsider."""
    policy = tmp_path / "policy.toml"
    policy.write_text("[activities.evidence]\nmax_bytes = 4096\n")
    app = make_app("activities", new_database("activities"), policy_file=str(policy), data_dir=str(tmp_path))
    client = app.test_client()
    people = {"staff": new_nip(), "supervisor": new_nip(), "plt": new_nip(), "other": new_nip(), "admin": new_nip()}
    sessions = app.extensions["kinerja"].sessions
    now = datetime.now(timezone.utc)
    with sessions() as session, session.begin():
        for name, nip in people.items():
            is_staff = name == "staff"
            handlers.upsert_employee(session, {
                "employee_id": nip, "unit_id": "DINKES", "position_id": "ANALIS", "zone": ZONE,
                "supervisor_id": people["supervisor"] if is_staff else None,
                "acting_supervisor_id": people["plt"] if is_staff else None}, now)
    response = client.post("/catalogue/imports", data=CSV, headers=token(people["admin"], "admin"))
    assert response.status_code == 200, response.json

    class Svc:
        pass
    s = Svc()
    s.app, s.client, s.people, s.sessions, s.token = app, client, people, sessions, token
    s.as_ = lambda who, *roles: token(people[who], *(roles or ("staff",)))
    return s


def _today():
    return datetime.now(ZoneInfo(ZONE)).date()


def _at(hour, minute=0, days_ago=0):
    day = _today() - timedelta(days=days_ago)
    return datetime(day.year, day.month, day.day, hour, minute).isoformat()  # local time, no offset


def _entry(svc, start, end, who="staff", **extra):
    body = {"start_at": start, "end_at": end, "catalogue_item_id": "SURAT", "quantity": 1, **extra}
    return svc.client.post("/entries", json=body, headers=svc.as_(who))


def _outbox_types(svc):
    with svc.sessions() as session:
        outbox = metadata.tables["outbox"]
        return [r.type for r in session.execute(select(outbox.c.type).order_by(outbox.c.id))]


def _decide(svc, entry, action, state, reason=None, minutes=None, version=None):
    data = {"decision_id": f"d-{action}-{entry['entry_id'][:8]}", "entry_id": entry["entry_id"],
            "entry_version": version or entry["version"], "employee_id": entry["employee_id"],
            "local_date": entry["local_date"], "decider_id": svc.people["plt"], "action": action, "reason": reason,
            "state": state, "accepted_minutes": minutes, "credited_minutes": 0, "sampled": False,
            "creditable": state == "approved", "on_time": True, "decided_at": datetime.now(timezone.utc).isoformat()}
    event = make_event("approvals.decision.made", entry["employee_id"], data, "approvals")
    with svc.sessions() as session, session.begin():
        handlers.apply_decision(session, event.data, svc.app.extensions["kinerja"].service.policy, datetime.now(timezone.utc))


def test_catalogue_import_keeps_good_rows_and_reports_bad_ones(svc):
    response = svc.client.post("/catalogue/imports", data=CSV, headers=svc.as_("admin", "admin"))
    report = response.json
    assert report["rows_accepted"] == 2 and report["rows_rejected"] == 1
    assert report["errors"] == [{"line": 3, "field": "norm_minutes",
                                 "reason": "must be a whole number of minutes above 0, not 'notanumber'"}]
    items = svc.client.get("/catalogue?unit_id=DINKES", headers=svc.as_("staff")).json["items"]
    assert [i["item_id"] for i in items] == ["ARSIP", "SURAT"]
    assert svc.client.post("/catalogue/imports", data=CSV, headers=svc.as_("staff")).status_code == 403


def test_invalid_entry_names_every_field_at_fault(svc):
    response = _entry(svc, _at(10), _at(9), catalogue_item_id=None, description="")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    fields = {e["field"] for e in response.json["errors"]}
    assert {"end_at", "catalogue_item_id"} <= fields
    future = _entry(svc, _at(8, days_ago=-1), _at(9, days_ago=-1))
    assert [e["field"] for e in future.json["errors"]] == ["local_date"]
    too_old = _entry(svc, _at(8, days_ago=30), _at(9, days_ago=30))
    assert too_old.json["errors"][0]["field"] == "local_date"
    bad_type = _entry(svc, _at(8), _at(9), quantity="three")
    assert bad_type.status_code == 422 and bad_type.json["errors"][0]["field"] == "quantity"
    unknown = _entry(svc, _at(8), _at(9), catalogue_item_id="NOPE")
    assert unknown.json["errors"] == [{"field": "catalogue_item_id", "message": "no catalogue item NOPE"}]


def test_overlap_with_own_entry_is_refused_but_adjacent_is_fine(svc):
    first = _entry(svc, _at(8), _at(10))
    assert first.status_code == 201
    clash = _entry(svc, _at(9), _at(11))
    assert clash.status_code == 422
    assert clash.json["errors"] == [{"field": "start_at", "message": f"overlaps entry {first.json['entry_id']}"}]
    assert _entry(svc, _at(10), _at(11)).status_code == 201
    # another employee's entry at the same time is no overlap
    assert _entry(svc, _at(9), _at(11), who="other").status_code == 201


def test_credited_minutes_follow_the_norm_bounded_by_the_duration(svc):
    one = _entry(svc, _at(8), _at(9), quantity=1).json
    three = _entry(svc, _at(13), _at(14), quantity=3).json
    free = _entry(svc, _at(15), _at(16), catalogue_item_id=None, description="Membantu tamu dinas").json
    assert (one["credited_minutes"], three["credited_minutes"], free["credited_minutes"]) == (30, 60, 0)
    assert one["local_date"] == _today().isoformat() and one["zone"] == ZONE
    assert one["start_at"].endswith("+00:00")
    assert free["free_description"] is True


def test_evidence_is_judged_by_its_bytes_and_stored_with_its_checksum(svc, tmp_path):
    fake = svc.client.post("/evidence", data={"file": (io.BytesIO(b"just text, not a picture"), "photo.png")},
                           headers=svc.as_("staff"), content_type="multipart/form-data")
    assert fake.status_code == 422 and fake.json["errors"][0]["field"] == "file"
    big = svc.client.post("/evidence", data={"file": (io.BytesIO(JPEG + b"\x00" * 5000), "big.jpg")},
                          headers=svc.as_("staff"), content_type="multipart/form-data")
    assert big.status_code == 422 and "larger than" in big.json["errors"][0]["message"]
    good = svc.client.post("/evidence", data={"file": (io.BytesIO(JPEG), "anything.txt")},
                           headers=svc.as_("staff"), content_type="multipart/form-data")
    assert good.status_code == 201
    assert good.json["mime"] == "image/jpeg" and good.json["sha256"] == hashlib.sha256(JPEG).hexdigest()
    stored = tmp_path / "evidence" / good.json["sha256"][:2] / good.json["sha256"]
    assert stored.read_bytes() == JPEG
    evidence_id = good.json["evidence_id"]
    entry = _entry(svc, _at(8), _at(9), evidence_ids=[evidence_id]).json
    assert [e["evidence_id"] for e in entry["evidence"]] == [evidence_id]
    stolen = _entry(svc, _at(8), _at(9), who="other", evidence_ids=[evidence_id])
    assert stolen.json["errors"][0]["field"] == "evidence_ids.0"
    assert svc.client.get(f"/evidence/{evidence_id}", headers=svc.as_("other")).status_code == 403
    seen = svc.client.get(f"/evidence/{evidence_id}", headers=svc.as_("plt", "supervisor"))
    assert seen.status_code == 200 and seen.data == JPEG


def test_edit_until_decided_then_revise_after_rejection(svc):
    entry = _entry(svc, _at(8), _at(9)).json
    edited = svc.client.put(f"/entries/{entry['entry_id']}", json={"start_at": _at(8), "end_at": _at(9, 30),
                                                                   "catalogue_item_id": "SURAT", "quantity": 2},
                            headers=svc.as_("staff"))
    assert edited.status_code == 200 and edited.json["version"] == 2 and edited.json["credited_minutes"] == 60
    assert svc.client.put(f"/entries/{entry['entry_id']}", json={"start_at": _at(8), "end_at": _at(9)},
                          headers=svc.as_("other")).status_code == 403
    _decide(svc, edited.json, "reject", "rejected", reason="foto tidak sesuai")
    rejected = svc.client.get(f"/entries/{entry['entry_id']}", headers=svc.as_("staff")).json
    assert rejected["state"] == "rejected" and rejected["decision_reason"] == "foto tidak sesuai"
    revised = svc.client.put(f"/entries/{entry['entry_id']}", json={"start_at": _at(8), "end_at": _at(9),
                                                                    "catalogue_item_id": "SURAT"},
                             headers=svc.as_("staff"))
    assert revised.status_code == 200 and (revised.json["state"], revised.json["version"]) == ("submitted", 3)
    _decide(svc, revised.json, "approve", "approved", version=2)  # judged an older version: ignored
    assert svc.client.get(f"/entries/{entry['entry_id']}", headers=svc.as_("staff")).json["state"] == "submitted"
    _decide(svc, revised.json, "approve", "approved")
    approved = svc.client.get(f"/entries/{entry['entry_id']}", headers=svc.as_("staff")).json
    assert approved["state"] == "approved" and approved["creditable"] is True
    refused = svc.client.put(f"/entries/{entry['entry_id']}", json={"start_at": _at(8), "end_at": _at(9),
                                                                    "catalogue_item_id": "SURAT"},
                             headers=svc.as_("staff"))
    assert refused.status_code == 409 and "approved" in refused.json["detail"]
    history = svc.client.get(f"/entries/{entry['entry_id']}/history", headers=svc.as_("staff")).json["history"]
    assert [h["action"] for h in history] == ["submit", "edit", "decision:reject", "revise",
                                              "decision_ignored:approve", "decision:approve"]
    assert _outbox_types(svc) == ["activities.entry.submitted", "activities.entry.revised",
                                  "activities.entry.revised"]


def test_free_description_credits_the_minutes_the_supervisor_set(svc):
    entry = _entry(svc, _at(8), _at(10), catalogue_item_id=None, description="Rapat koordinasi").json
    _decide(svc, entry, "set_minutes", "submitted", minutes=90)
    assert svc.client.get(f"/entries/{entry['entry_id']}", headers=svc.as_("staff")).json["credited_minutes"] == 90


def test_withdraw_is_final_and_frees_the_time(svc):
    entry = _entry(svc, _at(8), _at(9)).json
    withdrawn = svc.client.post(f"/entries/{entry['entry_id']}/withdraw", headers=svc.as_("staff"))
    assert withdrawn.json["state"] == "withdrawn"
    assert svc.client.post(f"/entries/{entry['entry_id']}/withdraw", headers=svc.as_("staff")).status_code == 409
    assert _entry(svc, _at(8), _at(9)).status_code == 201
    assert "activities.entry.withdrawn" in _outbox_types(svc)


def test_a_closed_month_refuses_changes(svc):
    entry = _entry(svc, _at(8), _at(9)).json
    today = _today()
    with svc.sessions() as session, session.begin():
        handlers.record_month_closed(session, {"unit_id": "DINKES", "year": today.year, "month": today.month,
                                               "closed_by": svc.people["plt"],
                                               "closed_at": datetime.now(timezone.utc)})
    edit = svc.client.put(f"/entries/{entry['entry_id']}", json={"start_at": _at(8), "end_at": _at(9),
                                                                 "catalogue_item_id": "SURAT"},
                          headers=svc.as_("staff"))
    assert edit.status_code == 409 and "closed" in edit.json["detail"]
    assert svc.client.post(f"/entries/{entry['entry_id']}/withdraw", headers=svc.as_("staff")).status_code == 409
    assert _entry(svc, _at(13), _at(14)).status_code == 409
    assert svc.client.get(f"/entries/{entry['entry_id']}", headers=svc.as_("staff")).json["month_locked"] is True


def test_only_the_owner_their_approver_and_verifiers_see_entries(svc):
    entry = _entry(svc, _at(8), _at(9)).json
    url = f"/entries/{entry['entry_id']}"
    assert svc.client.get(url, headers=svc.as_("other")).status_code == 403
    assert svc.client.get(url, headers=svc.as_("other", "supervisor")).status_code == 403
    # the Plt approves while set; the direct supervisor does not
    assert svc.client.get(url, headers=svc.as_("plt", "supervisor")).status_code == 200
    assert svc.client.get(url, headers=svc.as_("supervisor", "supervisor")).status_code == 403
    # a verifier reads the entries of the units approvals assigned them to, and only those
    assert svc.client.get(url, headers=svc.as_("other", "verifier")).status_code == 403
    with svc.sessions() as session, session.begin():
        apply_verifier_assignment(session, {"verifier_id": svc.people["other"], "unit_id": "DINKES", "active": True})
    assert svc.client.get(url, headers=svc.as_("other", "verifier")).status_code == 200
    with svc.sessions() as session, session.begin():
        apply_verifier_assignment(session, {"verifier_id": svc.people["other"], "unit_id": "DINKES", "active": False})
    assert svc.client.get(url, headers=svc.as_("other", "verifier")).status_code == 403
    listed = svc.client.get(f"/entries?employee_id={svc.people['staff']}", headers=svc.as_("plt", "supervisor"))
    assert [e["entry_id"] for e in listed.json["entries"]] == [entry["entry_id"]]
    assert svc.client.get("/entries").status_code == 401


def test_a_verification_that_outruns_its_decision_waits_for_it(svc):
    entry = _entry(svc, _at(8), _at(9)).json
    verification = make_event("approvals.verification.made", entry["employee_id"], {
        "verification_id": "v-1", "decision_id": f"d-approve-{entry['entry_id'][:8]}", "entry_id": entry["entry_id"],
        "employee_id": entry["employee_id"], "local_date": entry["local_date"], "verifier_id": svc.people["other"],
        "verdict": "overturn", "reason": "foto dari hari lain", "state": "rejected", "verified": False,
        "creditable": False, "credited_minutes": 0, "verified_at": datetime.now(timezone.utc).isoformat()},
        "approvals")
    with svc.sessions() as session, session.begin():
        handlers.apply_verification(session, verification.data, datetime.now(timezone.utc))
    assert svc.client.get(f"/entries/{entry['entry_id']}", headers=svc.as_("staff")).json["state"] == "submitted"
    _decide(svc, entry, "approve", "approved")
    final = svc.client.get(f"/entries/{entry['entry_id']}", headers=svc.as_("staff")).json
    assert (final["state"], final["verified"], final["decision_reason"]) == ("rejected", False, "foto dari hari lain")
