"""Cross-check flags on PostgreSQL: raised with evidence, resolved by later data or a decision, never twice."""
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from runtime.events import make_event
import scoring_events as ev

pytestmark = pytest.mark.postgres
MONDAY = date(2024, 3, 4)


def _kinds(events, event_type):
    return sorted(e["data"]["kind"] for e in events if e["type"] == event_type)


@pytest.fixture
def people(scoring, new_nip):
    boss, staff, other = new_nip(), new_nip(), new_nip()
    scoring.feed(ev.employee(boss, "dinas-a"), ev.employee(staff, "dinas-a", supervisor=boss),
                 ev.employee(other, "dinas-a", supervisor=boss))
    return boss, staff, other


def test_flags_are_raised_with_their_evidence(scoring, people, token):
    boss, staff, _ = people
    scoring.feed(
        ev.day(staff, MONDAY, clock_out="18:30", overtime_minutes=150),
        ev.entry(staff, "e-morning", MONDAY, "07:30", "12:00"),
        ev.entry(staff, "e-overlap", MONDAY, "11:00", "13:00"),
        ev.entry(staff, "e-evening", MONDAY, "19:00", "20:00"),
    )
    events = scoring.published()
    # The day came first: "present without activity" was raised, then resolved by the first entry.
    assert _kinds(events, "scoring.flag.resolved") == ["present_without_activity"]
    standing = _kinds(events, "scoring.flag.raised")
    standing.remove("present_without_activity")
    assert standing == ["activity_outside_attendance", "overlapping_activities", "overtime_without_activity"]
    overlap = next(e["data"] for e in events if e["data"]["kind"] == "overlapping_activities")
    assert overlap["evidence"]["entry_ids"] == ["e-morning", "e-overlap"]
    assert overlap["evidence"]["day_version"] == 1
    assert overlap["evidence"]["punch_ids"] == [f"p-{staff}-{MONDAY}-in", f"p-{staff}-{MONDAY}-out"]
    assert "60 min" in overlap["message"]
    assert all(e["key"] == staff for e in events)

    queue = scoring.client.get("/flags?state=open", headers=token(boss, "supervisor")).get_json()["flags"]
    assert sorted(f["kind"] for f in queue) == standing
    assert all(f["state"] == "open" and f["employee_id"] == staff for f in queue)


def test_a_late_punch_resolves_the_missing_clock_out_flag(scoring, people, token):
    _, staff, _ = people
    scoring.feed(ev.day(staff, MONDAY, clock_out=None), ev.entry(staff, "e1", MONDAY, "07:30", "15:30"))
    assert _kinds(scoring.published(), "scoring.flag.raised") == ["missing_clock_out"]

    scoring.feed(ev.day(staff, MONDAY, version=2))  # the device uploads the clock-out late
    events = scoring.published()
    assert [(e["type"], e["data"]["kind"]) for e in events] == [("scoring.flag.resolved", "missing_clock_out")]
    assert events[0]["data"]["resolution"].startswith("cause removed by later data")
    assert "version 2" in events[0]["data"]["resolution"]
    flags = scoring.client.get(f"/flags?employee_id={staff}", headers=token(staff)).get_json()["flags"]
    assert [(f["kind"], f["state"]) for f in flags] == [("missing_clock_out", "resolved")]


def test_the_same_input_twice_publishes_nothing(scoring, people):
    _, staff, _ = people
    built = ev.day(staff, MONDAY, clock_out=None)
    assert scoring.feed(built) == [True]
    assert len(scoring.published()) == 1
    assert scoring.feed(built) == [False]  # redelivered: the inbox skips it
    resent = ev.day(staff, MONDAY, clock_out=None)  # a new event id with the same day version
    assert scoring.feed(resent) == [True]
    older = ev.day(staff, MONDAY, version=1)
    scoring.feed(older)
    assert scoring.published() == []


def test_a_revised_entry_and_a_strike_resolve_flags(scoring, people):
    boss, staff, _ = people
    scoring.feed(ev.day(staff, MONDAY), ev.entry(staff, "e1", MONDAY, "07:30", "10:00"))
    scoring.published()  # "present without activity" raised and resolved on the way
    scoring.feed(ev.entry(staff, "e2", MONDAY, "09:00", "12:00"))
    assert _kinds(scoring.published(), "scoring.flag.raised") == ["overlapping_activities"]
    scoring.feed(ev.entry(staff, "e2", MONDAY, "10:00", "12:00", version=2, kind="activities.entry.revised"))
    assert _kinds(scoring.published(), "scoring.flag.resolved") == ["overlapping_activities"]
    scoring.feed(ev.entry(staff, "e3", MONDAY, "11:00", "11:30"))
    assert _kinds(scoring.published(), "scoring.flag.raised") == ["overlapping_activities"]
    scoring.feed(ev.decision(staff, "e3", MONDAY, boss, action="strike"))  # dicoret: it claims nothing
    assert _kinds(scoring.published(), "scoring.flag.resolved") == ["overlapping_activities"]


def test_present_without_activity_then_an_entry_resolves_it(scoring, people):
    _, staff, _ = people
    scoring.feed(ev.day(staff, MONDAY))
    assert _kinds(scoring.published(), "scoring.flag.raised") == ["present_without_activity"]
    scoring.feed(ev.entry(staff, "e1", MONDAY, "08:00", "15:00"))
    assert _kinds(scoring.published(), "scoring.flag.resolved") == ["present_without_activity"]


def test_the_approver_clears_a_flag_with_a_reason(scoring, people, token):
    boss, staff, other = people
    scoring.feed(ev.day(staff, MONDAY), ev.entry(staff, "e1", MONDAY, "07:30", "10:00"))
    scoring.published()
    scoring.feed(ev.entry(staff, "e2", MONDAY, "09:00", "12:00"))
    [raised] = scoring.published()
    key = raised["data"]["flag_key"]
    url = f"/flags/{key}/clear"
    assert scoring.client.post(url, json={"reason": "not yours"}, headers=token(other, "supervisor")).status_code == 403
    assert scoring.client.post(url, json={"reason": "not yours"}, headers=token(staff, "staff")).status_code == 403
    missing = scoring.client.post(url, json={}, headers=token(boss, "supervisor"))
    assert missing.status_code == 422 and missing.get_json()["errors"][0]["field"] == "reason"
    cleared = scoring.client.post(url, json={"reason": "rapat lintas OPD, dua kegiatan sah"},
                                  headers=token(boss, "supervisor"))
    assert cleared.status_code == 200, cleared.get_json()
    assert cleared.get_json()["state"] == "cleared"
    events = scoring.published()
    assert [e["type"] for e in events] == ["scoring.flag.resolved"]
    assert events[0]["data"]["resolution"] == f"cleared by {boss}: rapat lintas OPD, dua kegiatan sah"
    again = scoring.client.post(url, json={"reason": "twice"}, headers=token(boss, "supervisor"))
    assert again.status_code == 409
    scoring.feed(ev.day(staff, MONDAY, version=2, clock_out="16:10"))  # same overlap: not raised again
    assert scoring.published() == []


def test_who_sees_which_flags(scoring, people, new_nip, token):
    boss, staff, other = people
    scoring.feed(ev.day(staff, MONDAY, clock_out=None), ev.day(other, MONDAY, clock_out=None))
    get = scoring.client.get
    assert {f["employee_id"] for f in get("/flags", headers=token(staff)).get_json()["flags"]} == {staff}
    assert get(f"/flags?employee_id={other}", headers=token(staff)).status_code == 403
    assert {f["employee_id"] for f in get("/flags", headers=token(boss, "supervisor")).get_json()["flags"]} == {
        staff, other}
    stranger = new_nip()
    assert get(f"/flags?employee_id={staff}", headers=token(stranger, "supervisor")).status_code == 403
    assert get("/flags", headers=token(stranger, "supervisor")).get_json()["flags"] == []
    assert get("/flags", headers=token(stranger, "verifier")).get_json()["flags"] == []  # no unit assigned yet
    scoring.feed(make_event("approvals.verifier.assigned", f"{stranger}:dinas-a",
                            {"verifier_id": stranger, "unit_id": "dinas-a", "active": True}, "approvals"))
    assert len(get("/flags", headers=token(stranger, "verifier")).get_json()["flags"]) == 2
    assert get(f"/flags?employee_id={staff}", headers=token(stranger, "verifier")).status_code == 200
    assert get("/flags").status_code == 401
    bad = get("/flags?from=yesterday&state=open&employee_id=123", headers=token(staff))
    assert bad.status_code == 422
    assert {e["field"] for e in bad.get_json()["errors"]} == {"from", "employee_id"}
    dated = get("/flags?from=2024-03-05&to=2024-03-31", headers=token(staff)).get_json()["flags"]
    assert dated == []


def test_a_check_in_from_a_phone_awaiting_review_is_flagged_until_the_day_says_it_was_reviewed(scoring, people,
                                                                                              token):
    boss, staff, _ = people
    doubtful = [{"punch_id": f"p-{staff}-{MONDAY}-in", "doubts": ["outside_fence", "inaccurate"]}]
    scoring.feed(ev.day(staff, MONDAY, doubtful_punches=doubtful), ev.entry(staff, "e1", MONDAY, "07:30", "15:30"))
    raised = [e["data"] for e in scoring.published() if e["type"] == "scoring.flag.raised"]
    [flag] = [f for f in raised if f["kind"] == "doubtful_presence"]
    assert flag["evidence"]["punch_ids"] == [f"p-{staff}-{MONDAY}-in"]
    assert "inaccurate, outside_fence" in flag["message"]
    queue = scoring.client.get("/flags?state=open", headers=token(boss, "supervisor")).get_json()["flags"]
    assert [f["kind"] for f in queue] == ["doubtful_presence"]

    scoring.feed(ev.day(staff, MONDAY, version=2))  # the supervisor confirmed it: the day no longer says so
    assert [(e["type"], e["data"]["kind"]) for e in scoring.published()] == [
        ("scoring.flag.resolved", "doubtful_presence")]


def _missing_clock_out(scoring, staff):
    with scoring.sessions() as session:
        return session.execute(text("SELECT state, evidence::text AS evidence FROM flags WHERE flag_key = :key"),
                               {"key": f"missing_clock_out:{staff}:{MONDAY.isoformat()}"}).one()


def test_a_kept_flag_is_rewritten_only_when_its_evidence_changes_as_a_value(scoring, people):
    """A re-check compares a kept flag's stored evidence with the new one as JSON values: the same value in other
    text (spacing, key order: not the codec's) is left alone, a changed value is written, neither is published."""
    _, staff, _ = people
    scoring.feed(ev.day(staff, MONDAY, clock_out=None))
    assert _kinds(scoring.published(), "scoring.flag.raised") == ["missing_clock_out"]
    other_text = f'{{ "entry_ids" : [], "punch_ids" : ["p-{staff}-{MONDAY}-in"], "day_version" : 1 }}'
    with scoring.sessions() as session, session.begin():
        session.execute(text("UPDATE flags SET evidence = CAST(:evidence AS json) WHERE flag_key = :key"),
                        {"evidence": other_text, "key": f"missing_clock_out:{staff}:{MONDAY.isoformat()}"})

    scoring.feed(ev.day(staff, MONDAY + timedelta(days=1)))  # re-checks MONDAY as its neighbour: nothing changed
    assert _missing_clock_out(scoring, staff) == ("open", other_text)
    assert [e for e in scoring.published() if e["data"]["local_date"] == MONDAY.isoformat()] == []

    scoring.feed(ev.day(staff, MONDAY, version=2, clock_out=None))  # still no clock-out, the day's next version
    state, evidence = _missing_clock_out(scoring, staff)
    assert state == "open"
    assert json.loads(evidence) == {"day_version": 2, "punch_ids": [f"p-{staff}-{MONDAY}-in"], "entry_ids": []}
    assert scoring.published() == []
