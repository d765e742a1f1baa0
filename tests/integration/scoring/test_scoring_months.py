"""Monthly scores on PostgreSQL: closing a unit's month scores each employee with the breakdown that produced it."""
from datetime import date

import pytest

from runtime.events import make_event
import scoring_events as ev

pytestmark = pytest.mark.postgres
WEEK = [date(2024, 3, d) for d in (4, 5, 6, 7, 8)]
GOOD = {name: 4 for name in ("berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif",
                             "kolaboratif")}


def _approved(scoring, nip, entry_id, on, start, end, boss, **changes):
    submitted = ev.entry(nip, entry_id, on, start, end, **changes)
    scoring.feed(submitted, ev.decision(nip, entry_id, on, boss, credited=submitted.data["credited_minutes"]))


@pytest.fixture
def unit_b(scoring, new_nip):
    """Dinas B for the first week of March 2024: `diligent` works 420 min a day, `late` is late once and absent once."""
    boss, diligent, late = new_nip(), new_nip(), new_nip()
    scoring.feed(ev.unit("dinas-b", "Dinas B"), ev.employee(boss, "dinas-x"),
                 ev.employee(diligent, "dinas-b", supervisor=boss), ev.employee(late, "dinas-b", supervisor=boss))
    for on in WEEK:
        scoring.feed(ev.day(diligent, on))
        _approved(scoring, diligent, f"d-{on}", on, "07:30", "14:30", boss)
        if on == WEEK[0]:
            scoring.feed(ev.day(late, on, clock_in="08:15", status="late", late_minutes=45, late_band="TL2"))
        elif on == WEEK[-1]:
            scoring.feed(ev.day(late, on, clock_in=None, clock_out=None, status="absent"))
        else:
            scoring.feed(ev.day(late, on))
        if on != WEEK[-1]:
            _approved(scoring, late, f"l-{on}", on, "08:30", "12:15", boss)
    # Logged after the clock-out with no duty covering it: held back until the supervisor clears the flag.
    _approved(scoring, diligent, "d-evening", WEEK[-1], "16:30", "17:00", boss)
    scoring.published()
    return boss, diligent, late


def _scored(events):
    return {e["data"]["employee_id"]: e["data"] for e in events if e["type"] == "scoring.month.scored"}


def test_closing_the_month_scores_each_employee_with_a_breakdown(scoring, unit_b, token, new_nip):
    boss, diligent, late = unit_b
    rated = scoring.client.put(f"/behaviour/{diligent}/2024-03", json=GOOD, headers=token(boss, "supervisor"))
    assert rated.status_code == 200, rated.get_json()
    assert rated.get_json()["level"] == "above"
    assert scoring.feed(ev.month_closed("dinas-b", 2024, 3, new_nip())) == [True]
    scores = _scored(scoring.published())
    assert set(scores) == {diligent, late}

    d = scores[diligent]
    assert (d["version"], d["unit_id"], d["year"], d["month"]) == (1, "dinas-b", 2024, 3)
    assert d["effective_minutes"] == 5 * 450 and d["credited_minutes"] == 5 * 420
    assert d["activity_score"] == "93.33" and d["discipline_score"] == "100.00"
    assert d["predicate"] == "Baik" and d["behaviour_level"] == "above" and d["behaviour_score"] == "80.00"
    assert d["breakdown"]["activity"]["summary"] == "2100 credited ÷ 2250 effective min × 100 = 93.33"
    held = next(l for l in d["breakdown"]["activity"]["lines"] if l["entry_id"] == "d-evening")
    assert held["counted"] is False and "activity_outside_attendance" in held["reason"]
    assert "PermenPANRB" in d["breakdown"]["predicate"]["explanation"]
    assert d["days"] == []  # five plain days: nothing payroll could charge, their time is in effective_minutes
    counted = [l for l in d["breakdown"]["activity"]["lines"] if "entry_id" not in l]
    assert counted == [{"entries": 5, "credited_minutes": 2100, "counted": True, "reason": "counted"}]

    l = scores[late]
    assert l["discipline_score"] == "96.00" and l["activity_score"] == "40.00"
    assert l["predicate"] == "Belum Dinilai" and l["behaviour_level"] is None
    assert [(x["code"], x["rate"]) for x in l["breakdown"]["discipline"]["lines"]] == [("TL2", "1"), ("TK", "3")]
    facts = {f["local_date"]: f for f in l["days"]}
    assert set(facts) == {"2024-03-04", "2024-03-08"}
    assert facts["2024-03-04"]["late_band"] == "TL2" and facts["2024-03-08"]["status"] == "absent"

    month = scoring.client.get(f"/months/{late}/2024-03", headers=token(boss, "supervisor")).get_json()
    assert month["discipline_score"] == "96.00" and month["breakdown"]["discipline"]["lines"]
    assert [(x["entry_id"], x["counted"]) for x in month["entries"]] == [
        (f"l-{on}", True) for on in WEEK[:-1]]

    assert scoring.feed(ev.month_closed("dinas-b", 2024, 3, new_nip())) == [True]  # closed again, nothing new
    assert scoring.published() == []


def test_corrections_after_closing_publish_a_new_version(scoring, unit_b, token, new_nip):
    boss, diligent, late = unit_b
    scoring.feed(ev.month_closed("dinas-b", 2024, 3, new_nip()))
    scoring.published()

    scoring.client.put(f"/behaviour/{late}/2024-03", json={**GOOD, "loyal": 3, "adaptif": 2, "kompeten": 3},
                       headers=token(boss, "supervisor"))
    [rescored] = scoring.published()
    assert rescored["type"] == "scoring.month.scored" and rescored["data"]["version"] == 2
    assert rescored["data"]["predicate"] == "Butuh Perbaikan"

    scoring.feed(ev.day(late, WEEK[-1], version=2))  # the absence was a device fault: punches recovered
    events = scoring.published()
    [again] = [e["data"] for e in events if e["type"] == "scoring.month.scored"]
    assert again["version"] == 3 and again["discipline_score"] == "99.00"

    flags = scoring.client.get(f"/flags?employee_id={diligent}&state=open", headers=token(boss, "supervisor"))
    [outside] = [f for f in flags.get_json()["flags"] if f["kind"] == "activity_outside_attendance"]
    cleared = scoring.client.post(f"/flags/{outside['flag_key']}/clear", json={"reason": "rapat sore, undangan ada"},
                                  headers=token(boss, "supervisor"))
    assert cleared.status_code == 200
    events = scoring.published()
    assert [e["type"] for e in events] == ["scoring.flag.resolved", "scoring.month.scored"]
    d = events[1]["data"]
    assert d["version"] == 2 and d["activity_score"] == "94.67"
    line = next(l for l in d["breakdown"]["activity"]["lines"] if l["entry_id"] == "d-evening")
    assert line["counted"] is True and "cleared by decision" in line["reason"]


def test_distribution_against_the_units_own_rating(scoring, unit_b, token, new_nip):
    boss, diligent, late = unit_b
    admin = new_nip()
    assert scoring.client.put("/units/dinas-b/rating/2024", json={"rating": "Baik"},
                              headers=token(boss, "supervisor")).status_code == 403
    bad = scoring.client.put("/units/dinas-b/rating/2024", json={"rating": "Lumayan"}, headers=token(admin, "admin"))
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "rating"
    assert scoring.client.put("/units/dinas-b/rating/2024", json={"rating": "Baik"},
                              headers=token(admin, "admin")).status_code == 200
    scoring.client.put(f"/behaviour/{diligent}/2024-03", json=GOOD, headers=token(boss, "supervisor"))
    scoring.feed(ev.month_closed("dinas-b", 2024, 3, new_nip()))
    report = scoring.client.get("/units/dinas-b/distribution/2024-03", headers=token(admin, "ops")).get_json()
    assert report["predicates"] == {"Baik": 1} and report["not_rated"] == 1
    assert len(report["violations"]) == 2  # 100% Baik (at most 70%), and nobody below Baik
    assert report["limits"] == [  # the expected shape for a unit rated Baik, from the policy
        {"predicates": ["Baik"], "min_count": None, "min_share": None, "max_share": "0.70"},
        {"predicates": ["Butuh Perbaikan", "Kurang", "Sangat Kurang"], "min_count": 1, "min_share": None,
         "max_share": None}]
    scoring.client.put(f"/behaviour/{late}/2024-03", json={**GOOD, "loyal": 3, "adaptif": 2, "kompeten": 3},
                       headers=token(boss, "supervisor"))
    report = scoring.client.get("/units/dinas-b/distribution/2024-03", headers=token(admin, "ops")).get_json()
    assert report["predicates"] == {"Baik": 1, "Butuh Perbaikan": 1} and report["violations"] == []
    assert scoring.client.get("/units/dinas-b/distribution/2024-03",
                              headers=token(late, "staff")).status_code == 403


def test_a_verifier_reads_the_distribution_of_their_units_only(scoring, unit_b, token, new_nip):
    verifier = new_nip()
    scoring.feed(ev.month_closed("dinas-b", 2024, 3, new_nip()))
    url = "/units/dinas-b/distribution/2024-03"
    assert scoring.client.get(url, headers=token(verifier, "verifier")).status_code == 403  # assigned to no unit
    scoring.feed(make_event("approvals.verifier.assigned", f"{verifier}:dinas-x",
                            {"verifier_id": verifier, "unit_id": "dinas-x", "active": True}, "approvals"))
    assert scoring.client.get(url, headers=token(verifier, "verifier")).status_code == 403  # another unit
    scoring.feed(make_event("approvals.verifier.assigned", f"{verifier}:dinas-b",
                            {"verifier_id": verifier, "unit_id": "dinas-b", "active": True}, "approvals"))
    report = scoring.client.get(url, headers=token(verifier, "verifier"))
    assert report.status_code == 200 and report.get_json()["staff_scored"] == 2


def test_behaviour_and_month_reads_are_authorised_and_validated(scoring, unit_b, token, new_nip):
    boss, diligent, late = unit_b
    put = scoring.client.put
    assert put(f"/behaviour/{late}/2024-03", json=GOOD, headers=token(diligent, "supervisor")).status_code == 403
    assert put(f"/behaviour/{late}/2024-03", json=GOOD, headers=token(late, "staff")).status_code == 403
    invalid = put(f"/behaviour/{late}/2024-03", json={**GOOD, "loyal": 9, "adaptif": None, "jujur": 5},
                  headers=token(boss, "supervisor"))
    assert invalid.status_code == 422
    assert {e["field"] for e in invalid.get_json()["errors"]} == {"loyal", "adaptif", "jujur"}
    bad_period = put(f"/behaviour/{late}/2024-13", json=GOOD, headers=token(boss, "supervisor"))
    assert bad_period.status_code == 422 and bad_period.get_json()["errors"][0]["field"] == "period"

    get = scoring.client.get
    assert get(f"/months/{late}/2024-03", headers=token(late)).status_code == 404  # not closed yet
    scoring.feed(ev.month_closed("dinas-b", 2024, 3, new_nip()))
    assert get(f"/months/{late}/2024-03", headers=token(late)).status_code == 200
    assert get(f"/months/{late}/2024-03", headers=token(diligent)).status_code == 403
    assert get(f"/months/{late}/2024-03", headers=token(new_nip(), "supervisor")).status_code == 403
    verifier = new_nip()
    assert get(f"/months/{late}/2024-03", headers=token(verifier, "verifier")).status_code == 403
    scoring.feed(make_event("approvals.verifier.assigned", f"{verifier}:dinas-b",
                            {"verifier_id": verifier, "unit_id": "dinas-b", "active": True}, "approvals"))
    assert get(f"/months/{late}/2024-03", headers=token(verifier, "verifier")).status_code == 200
    assert get(f"/months/{late}/2024-03").status_code == 401


def test_a_late_declared_holiday_is_no_absence(scoring, unit_b, new_nip):
    boss, diligent, late = unit_b
    scoring.feed(ev.holiday(WEEK[-1], "Cuti bersama"), ev.month_closed("dinas-b", 2024, 3, new_nip()))
    l = _scored(scoring.published())[late]
    assert l["discipline_score"] == "99.00" and l["effective_minutes"] == 4 * 450
    assert l["breakdown"]["holidays_applied"] == ["2024-03-08"]


def test_a_re_scored_closed_month_says_why(scoring, unit_b, token, new_nip):
    boss, diligent, late = unit_b
    scoring.feed(ev.month_closed("dinas-b", 2024, 3, new_nip()))
    assert {e["data"]["cause"] for e in scoring.published() if e["type"] == "scoring.month.scored"} == {None}

    # The absent Friday turns out to be annual leave, with its letter: the new version names both.
    scoring.feed(ev.day(late, WEEK[-1], version=2, clock_in=None, clock_out=None, status="leave",
                        absence_kind="leave", absence_reference="800/17/BKPSDM/2024"))
    [leave] = [e["data"] for e in scoring.published() if e["type"] == "scoring.month.scored"]
    assert leave["version"] == 2 and leave["cause"] == (
        f"attendance day {WEEK[-1]} rebuilt (version 2): leave, leave letter 800/17/BKPSDM/2024")

    scoring.client.put(f"/behaviour/{late}/2024-03", json=GOOD, headers=token(boss, "supervisor"))
    [rated] = [e["data"] for e in scoring.published() if e["type"] == "scoring.month.scored"]
    assert rated["version"] == 3 and rated["cause"] == f"behaviour rated by {boss}"


def test_a_saved_behaviour_rating_reads_back_with_its_scale(scoring, unit_b, token, new_nip):
    boss, diligent, late = unit_b
    get = scoring.client.get
    before = get(f"/behaviour/{late}/2024-03", headers=token(boss, "supervisor"))
    assert before.status_code == 200
    assert before.get_json()["rating"] is None
    assert before.get_json()["scale"] == {"values": list(GOOD), "min": 1, "max": 5, "meets_from": "3",
                                          "above_from": "4"}
    given = {**GOOD, "loyal": 3, "adaptif": 2}  # 4×5 + 3 + 2 = 25 ÷ 7 = 3.57: meets expectations
    assert scoring.client.put(f"/behaviour/{late}/2024-03", json={**given, "has_innovation": True},
                              headers=token(boss, "supervisor")).status_code == 200
    for reader in (token(boss, "supervisor"), token(late), token(new_nip(), "admin")):
        saved = get(f"/behaviour/{late}/2024-03", headers=reader)
        assert saved.status_code == 200
        rating = saved.get_json()["rating"]
        assert (rating["ratings"], rating["has_innovation"], rating["level"], rating["average"], rating["rated_by"]) \
            == (given, True, "meets", "3.57", boss)
    assert get(f"/behaviour/{late}/2024-03", headers=token(diligent)).status_code == 403
    assert get(f"/behaviour/{late}/2024-03", headers=token(new_nip(), "supervisor")).status_code == 403
    assert get(f"/behaviour/{late}/2024-13", headers=token(late)).status_code == 422
    assert get(f"/behaviour/{late}/2024-03").status_code == 401
