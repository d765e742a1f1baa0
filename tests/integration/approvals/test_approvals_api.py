"""The approvals API on a real PostgreSQL: queue, decisions, escalation, verification, month close, audit."""
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from approvals import handlers
from approvals.tables import metadata
from runtime.events import make_event

pytestmark = pytest.mark.postgres
ZONE = "Asia/Jakarta"
DAY = date(2025, 3, 3)  # a Monday
POLICY = """
[approvals]
escalation_step_days = 3
[approvals.decision_deadline]
mode = "days"
days = 5
[approvals.verification]
rate = 1
required_before_credit = true
"""


class Svc:
    """The app under test, its people and helpers."""


@pytest.fixture
def svc(new_database, make_app, new_nip, token, tmp_path):
    """An approvals app; line: staff -> (Plt) plt -> head -> kepala; supervisor is staff's direct one, replaced."""
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    app = make_app("approvals", new_database("approvals"), policy_file=str(policy))
    s = Svc()
    s.app, s.client = app, app.test_client()
    s.now = datetime(2025, 3, 4, 3, 0, tzinfo=timezone.utc)
    app.extensions["kinerja"].service.clock = lambda: s.now
    s.people = {name: new_nip() for name in ("staff", "staff2", "supervisor", "plt", "head", "kepala", "verifier",
                                             "admin")}
    lines = {"staff": ("supervisor", "plt"), "staff2": ("plt", None), "supervisor": ("head", None),
             "plt": ("head", None), "head": ("kepala", None), "kepala": (None, None)}
    s.sessions = app.extensions["kinerja"].sessions
    with s.sessions() as session, session.begin():
        for name, (sup, acting) in lines.items():
            handlers.upsert_employee(session, {
                "employee_id": s.people[name], "name": name, "unit_id": "DINKES", "zone": ZONE,
                "supervisor_id": s.people.get(sup), "acting_supervisor_id": s.people.get(acting)}, s.now)
    s.as_ = lambda who, *roles: token(s.people[who], *(roles or ("supervisor",)))
    return s


def _entry(svc, who="staff", day=DAY, hour=8, free=False, event_type="activities.entry.submitted", version=1,
           entry_id=None, state="submitted"):
    start = datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)
    data = {"entry_id": entry_id or str(uuid.uuid4()), "version": version, "employee_id": svc.people[who],
            "unit_id": "DINKES", "local_date": day.isoformat(), "zone": ZONE, "start_at": start.isoformat(),
            "end_at": (start + timedelta(hours=1)).isoformat(), "catalogue_item_id": None if free else "SURAT",
            "description": "Rapat" if free else "", "quantity": 1, "duration_minutes": 60,
            "credited_minutes": 0 if free else 30, "free_description": free, "state": state,
            "evidence": [{"evidence_id": "ev-1", "sha256": "0" * 64, "mime": "image/jpeg", "size": 10}]}
    event = make_event(event_type, data["employee_id"], data, "activities")
    with svc.sessions() as session, session.begin():
        handlers.receive_entry(session, event.type, event.data, svc.now)
    return data["entry_id"]


def _decide(svc, entry_id, who="plt", **body):
    return svc.client.post(f"/entries/{entry_id}/decisions", json=body or {"action": "approve"},
                           headers=svc.as_(who))


def _outbox(svc, event_type):
    import json
    with svc.sessions() as session:
        outbox = metadata.tables["outbox"]
        rows = session.execute(select(outbox.c.payload).where(outbox.c.type == event_type).order_by(outbox.c.id))
        return [json.loads(r.payload)["data"] for r in rows]


def _assign_verifier(svc):
    response = svc.client.put(f"/verifiers/{svc.people['verifier']}/units/DINKES", headers=svc.as_("admin", "admin"))
    assert response.status_code == 200


def test_the_plt_gets_the_queue_with_flags_and_the_attendance_day(svc):
    entry_id = _entry(svc)
    flag = make_event("scoring.flag.raised", svc.people["staff"], {
        "flag_key": f"overlap:{entry_id}", "kind": "overlap", "employee_id": svc.people["staff"],
        "local_date": DAY.isoformat(), "message": "the same minutes are claimed twice",
        "evidence": {"entry_ids": [entry_id]}}, "scoring")
    day = make_event("attendance.day.built", svc.people["staff"], {
        "employee_id": svc.people["staff"], "local_date": DAY.isoformat(), "zone": ZONE, "version": 1,
        "status": "present", "scheduled_minutes": 450, "presence_minutes": 480, "late_minutes": 0,
        "early_leave_minutes": 0, "overtime_minutes": 30, "missing_clock_in": False, "missing_clock_out": False,
        "punch_ids": ["p1", "p2"]}, "attendance")
    with svc.sessions() as session, session.begin():
        handlers.receive_flag(session, flag.type, flag.data, svc.now)
        handlers.receive_day(session, day.data)
    items = svc.client.get("/queue", headers=svc.as_("plt")).json["items"]
    assert [i["entry_id"] for i in items] == [entry_id]
    assert items[0]["flags"][0]["kind"] == "overlap" and items[0]["flags"][0]["resolved"] is False
    assert items[0]["attendance_day"]["presence_minutes"] == 480
    assert items[0]["approver_id"] == svc.people["plt"] and items[0]["due_on"] == "2025-03-08"
    assert items[0]["evidence"][0]["evidence_id"] == "ev-1"
    # the direct supervisor is replaced by the Plt while one is set
    assert svc.client.get("/queue", headers=svc.as_("supervisor")).json["items"] == []
    assert _decide(svc, entry_id, who="supervisor").status_code == 403
    assert svc.client.get("/queue", headers=svc.as_("plt", "staff")).status_code == 403


def test_approve_publishes_a_decision_with_sample_and_credit(svc):
    entry_id = _entry(svc)
    response = _decide(svc, entry_id)
    assert response.status_code == 201 and response.json["state"] == "approved"
    [event] = _outbox(svc, "approvals.decision.made")
    assert event["entry_id"] == entry_id and event["decider_id"] == svc.people["plt"]
    assert event["sampled"] is True and event["creditable"] is False  # sampled here: credits once verified
    assert event["credited_minutes"] == 30 and event["on_time"] is True
    assert svc.client.get("/queue", headers=svc.as_("plt")).json["items"] == []
    again = _decide(svc, entry_id)
    assert again.status_code == 409 and "only a submitted entry" in again.json["errors"][0]["message"]


def test_nobody_approves_their_own_work(svc):
    own = _entry(svc, who="plt")
    response = _decide(svc, own, who="plt")
    assert response.status_code == 403
    assert response.json["errors"][0]["message"] == "nobody decides on their own work"
    # a head's own entries go to their superior
    head_entry = _entry(svc, who="head")
    assert [i["entry_id"] for i in svc.client.get("/queue", headers=svc.as_("kepala")).json["items"]] == [head_entry]
    assert _decide(svc, head_entry, who="kepala").status_code == 201


def test_reject_and_strike_need_a_reason_and_strike_is_final(svc):
    entry_id = _entry(svc)
    missing = _decide(svc, entry_id, action="reject")
    assert missing.status_code == 422 and missing.json["errors"][0]["field"] == "reason"
    struck = _decide(svc, entry_id, action="strike", reason="tidak berkontribusi pada unit")
    assert struck.status_code == 201 and struck.json["state"] == "struck" and struck.json["credited_minutes"] == 0
    assert _decide(svc, entry_id).status_code == 409


def test_reject_then_revision_returns_to_the_queue(svc):
    entry_id = _entry(svc)
    assert _decide(svc, entry_id, action="reject", reason="foto buram").json["state"] == "rejected"
    _entry(svc, entry_id=entry_id, version=2, event_type="activities.entry.revised")
    items = svc.client.get("/queue", headers=svc.as_("plt")).json["items"]
    assert [(i["entry_id"], i["version"], i["state"]) for i in items] == [(entry_id, 2, "submitted")]
    assert _decide(svc, entry_id, action="approve", entry_version=1).status_code == 409
    assert _decide(svc, entry_id, action="approve", entry_version=2).status_code == 201


def test_minutes_of_a_free_description_are_set_then_approved(svc):
    entry_id = _entry(svc, free=True)
    too_many = _decide(svc, entry_id, action="set_minutes", minutes=90)
    assert too_many.status_code == 422 and too_many.json["errors"][0]["field"] == "minutes"
    assert _decide(svc, entry_id, action="set_minutes", minutes=45).json["state"] == "submitted"
    approved = _decide(svc, entry_id)
    assert approved.json["credited_minutes"] == 45
    catalogue = _entry(svc, hour=10)
    assert _decide(svc, catalogue, action="set_minutes", minutes=10).status_code == 422


def test_bulk_decision_reports_each_item(svc):
    a, b, c = _entry(svc, hour=8), _entry(svc, hour=9), _entry(svc, who="staff2", hour=10)
    _decide(svc, b, action="strike", reason="bukan tugas unit")
    response = svc.client.post("/decisions/bulk", json={"entry_ids": [a, b, c, "nope"], "action": "approve"},
                               headers=svc.as_("plt"))
    assert response.status_code == 200
    results = {r["entry_id"]: r for r in response.json["results"]}
    assert results[a]["ok"] and results[c]["ok"]
    assert not results[b]["ok"] and results[b]["status"] == 409
    assert results["nope"]["status"] == 404
    assert (response.json["succeeded"], response.json["failed"]) == (2, 2)
    assert len(_outbox(svc, "approvals.decision.made")) == 3  # the strike and two approvals


def test_overdue_entries_escalate_and_lateness_is_recorded(svc):
    entry_id = _entry(svc)
    svc.now = datetime(2025, 3, 9, 3, tzinfo=timezone.utc)  # due 2025-03-08: one day late
    items = svc.client.get("/queue", headers=svc.as_("head")).json["items"]
    assert [(i["entry_id"], i["escalation_level"], i["escalated_to"]) for i in items] == \
        [(entry_id, 1, svc.people["head"])]
    assert svc.client.get("/queue", headers=svc.as_("kepala")).json["items"] == []
    decision = _decide(svc, entry_id, who="head")
    assert decision.status_code == 201 and decision.json["on_time"] is False and decision.json["days_late"] == 1
    record = svc.client.get(f"/supervisors/{svc.people['head']}/timeliness", headers=svc.as_("head")).json
    assert (record["decisions"], record["late"], record["escalated"]) == (1, 1, 1)
    assert svc.client.get(f"/supervisors/{svc.people['head']}/timeliness",
                          headers=svc.as_("staff", "staff")).status_code == 403
    # a verifier reads the timeliness of the supervisors of their units only: none before an assignment
    timeliness = f"/supervisors/{svc.people['head']}/timeliness"
    assert svc.client.get(timeliness, headers=svc.as_("verifier", "verifier")).status_code == 403
    svc.client.put(f"/verifiers/{svc.people['verifier']}/units/ELSEWHERE", headers=svc.as_("admin", "admin"))
    assert svc.client.get(timeliness, headers=svc.as_("verifier", "verifier")).status_code == 403
    _assign_verifier(svc)
    assert svc.client.get(timeliness, headers=svc.as_("verifier", "verifier")).json["decisions"] == 1


def test_verifier_overturns_an_approval(svc):
    entry_id = _entry(svc)
    decision = _decide(svc, entry_id).json
    url = f"/decisions/{decision['decision_id']}/verification"
    assert svc.client.post(url, json={"verdict": "uphold"}, headers=svc.as_("verifier", "verifier")).status_code == 403
    _assign_verifier(svc)
    queue = svc.client.get("/verifications/queue", headers=svc.as_("verifier", "verifier")).json["items"]
    assert [i["decision"]["decision_id"] for i in queue] == [decision["decision_id"]]
    no_reason = svc.client.post(url, json={"verdict": "overturn"}, headers=svc.as_("verifier", "verifier"))
    assert no_reason.status_code == 422 and no_reason.json["errors"][0]["field"] == "reason"
    overturned = svc.client.post(url, json={"verdict": "overturn", "reason": "foto dari hari lain"},
                                 headers=svc.as_("verifier", "verifier"))
    assert overturned.status_code == 201
    assert (overturned.json["state"], overturned.json["verified"], overturned.json["creditable"]) == \
        ("rejected", False, False)
    [event] = _outbox(svc, "approvals.verification.made")
    assert event["verdict"] == "overturn" and event["credited_minutes"] == 0
    assert svc.client.post(url, json={"verdict": "uphold"}, headers=svc.as_("verifier", "verifier")).status_code == 409


def test_an_overturn_that_would_credit_the_same_minutes_twice_is_refused(svc):
    # A (08:00-09:00) approved; B over the same hour was rejected, so it never blocked A's submission.
    # Overturning B's rejection would credit 08:00-09:00 twice (30 + 30 norm minutes): refused, naming A.
    # C (10:00-11:00) overlaps nothing: its rejection is overturned and it credits its 30 minutes.
    _assign_verifier(svc)
    a, b, c = _entry(svc, hour=8), _entry(svc, hour=8), _entry(svc, hour=10)
    assert _decide(svc, a).status_code == 201
    rejected_b = _decide(svc, b, action="reject", reason="dobel").json
    rejected_c = _decide(svc, c, action="reject", reason="kurang bukti").json
    overturn = {"verdict": "overturn", "reason": "bukti cukup"}
    refused = svc.client.post(f"/decisions/{rejected_b['decision_id']}/verification", json=overturn,
                              headers=svc.as_("verifier", "verifier"))
    assert refused.status_code == 409
    assert refused.json["errors"][0]["field"] == "verdict" and a in refused.json["errors"][0]["message"]
    assert "credited once" in refused.json["errors"][0]["message"]
    allowed = svc.client.post(f"/decisions/{rejected_c['decision_id']}/verification", json=overturn,
                              headers=svc.as_("verifier", "verifier"))
    assert allowed.status_code == 201
    assert (allowed.json["state"], allowed.json["creditable"], allowed.json["credited_minutes"]) == \
        ("approved", True, 30)


def test_month_close_is_refused_until_work_is_decided_and_verified_then_locks(svc):
    _assign_verifier(svc)
    decided, pending = _entry(svc, hour=8), _entry(svc, hour=9)
    decision = _decide(svc, decided).json
    close = "/units/DINKES/months/2025-03/close"
    refused = svc.client.post(close, headers=svc.as_("verifier", "verifier"))
    assert refused.status_code == 409
    messages = " ".join(e["message"] for e in refused.json["errors"])
    assert pending in messages and decided in messages
    _decide(svc, pending, action="reject", reason="tidak jelas")
    for item in svc.client.get("/verifications/queue?month=2025-03",
                               headers=svc.as_("verifier", "verifier")).json["items"]:
        verdict = svc.client.post(f"/decisions/{item['decision']['decision_id']}/verification",
                                  json={"verdict": "uphold"}, headers=svc.as_("verifier", "verifier"))
        assert verdict.status_code == 201
    assert svc.client.post(close, headers=svc.as_("plt", "verifier")).status_code == 403
    # March has not ended in the unit's zone (WIB, UTC+7) until 31 March 17:00 UTC = 1 April 00:00 WIB.
    svc.now = datetime(2025, 3, 31, 16, 59, tzinfo=timezone.utc)
    early = svc.client.post(close, headers=svc.as_("verifier", "verifier"))
    assert early.status_code == 409
    assert early.json["errors"] == [{"field": "month", "message": (
        "2025-03 may be closed only after its last day has ended in the unit's zone Asia/Jakarta: from "
        "2025-04-01 00:00 Asia/Jakarta; it is now 2025-03-31 23:59 there")}]
    svc.now = datetime(2025, 3, 31, 17, 0, tzinfo=timezone.utc)
    closed = svc.client.post(close, headers=svc.as_("verifier", "verifier"))
    assert closed.status_code == 201 and closed.json["entry_count"] == 2
    [event] = _outbox(svc, "approvals.month.closed")
    assert (event["unit_id"], event["year"], event["month"], event["entry_count"]) == ("DINKES", 2025, 3, 2)
    assert svc.client.post(close, headers=svc.as_("verifier", "verifier")).status_code == 409
    late = _entry(svc, hour=14)  # arrives after the close
    locked = _decide(svc, late)
    assert locked.status_code == 409 and "month is closed" in locked.json["errors"][0]["message"]
    assert decision["decision_id"]


def test_audit_trail_records_every_step_and_cannot_be_rewritten(svc):
    _assign_verifier(svc)
    entry_id = _entry(svc)
    decision = _decide(svc, entry_id, action="reject", reason="kurang bukti").json
    _entry(svc, entry_id=entry_id, version=2, event_type="activities.entry.revised")
    approved = _decide(svc, entry_id, action="approve", entry_version=2)
    assert approved.status_code == 201, approved.json
    trail = svc.client.get(f"/audit?entry_id={entry_id}", headers=svc.as_("staff", "staff")).json["records"]
    assert [r["action"] for r in trail] == ["activities.entry.submitted", "decision.reject",
                                            "activities.entry.revised", "decision.approve"]
    assert trail[1]["actor"] == svc.people["plt"] and trail[1]["before"]["state"] == "submitted"
    assert trail[1]["after"]["state"] == "rejected" and trail[1]["after"]["reason"] == "kurang bukti"
    assert "state" in trail[1]["changed"]
    assert svc.client.get(f"/audit?entry_id={entry_id}", headers=svc.as_("staff2", "staff")).status_code == 403
    assert svc.client.get("/audit", headers=svc.as_("admin", "admin")).json["errors"][0]["field"] == "entry_id"
    assert decision["decision_id"]
    with pytest.raises(Exception, match="append-only"):
        with svc.sessions() as session, session.begin():
            session.execute(text("UPDATE audit SET actor = 'someone'"))


def test_verifier_assignments_are_published_for_the_services_that_scope_reads(svc):
    admin = svc.as_("admin", "admin")
    verifier = svc.people["verifier"]
    _assign_verifier(svc)
    _assign_verifier(svc)  # idempotent: published once
    assert svc.client.delete(f"/verifiers/{verifier}/units/DINKES", headers=admin).status_code == 200
    assert _outbox(svc, "approvals.verifier.assigned") == [
        {"verifier_id": verifier, "unit_id": "DINKES", "active": True},
        {"verifier_id": verifier, "unit_id": "DINKES", "active": False}]
