"""SKP targets on PostgreSQL: the approver sets and assesses them, the month's score carries the target score,
an assessment after the close publishes a new version, and no one else may set, assess or read them."""
from datetime import date

import pytest

import scoring_events as ev

pytestmark = pytest.mark.postgres
WEEK = [date(2024, 3, d) for d in (4, 5, 6, 7, 8)]


@pytest.fixture
def team(scoring, new_nip):
    """A supervisor and a report with one approved entry of 3 'laporan' (item cat-lap) a day for a week."""
    boss, staff, other = new_nip(), new_nip(), new_nip()
    scoring.feed(ev.unit("dinas-t", "Dinas T"), ev.employee(boss, "dinas-x"),
                 ev.employee(staff, "dinas-t", supervisor=boss), ev.employee(other, "dinas-t", supervisor=boss))
    for on in WEEK:
        scoring.feed(ev.day(staff, on))
        submitted = ev.entry(staff, f"s-{on}", on, "08:00", "12:00", catalogue_item_id="cat-lap", quantity=3)
        scoring.feed(submitted, ev.decision(staff, f"s-{on}", on, boss, credited=240))
    scoring.published()
    return boss, staff, other


def _scored(events):
    return [e["data"] for e in events if e["type"] == "scoring.month.scored"]


def test_targets_linked_and_assessed_make_the_month_target_score(scoring, team, token, new_nip):
    boss, staff, _ = team
    put = scoring.client.put(f"/targets/{staff}/2024-03", headers=token(boss, "supervisor"), json={"targets": [
        {"output": "Laporan kegiatan", "quantity": 20, "output_unit": "laporan", "catalogue_item_id": "cat-lap",
         "weight": 3},
        {"output": "Rekap anggaran", "quantity": 2, "output_unit": "dokumen", "quality": 100, "time_days": 10},
    ]})
    assert put.status_code == 200, put.get_json()
    body = put.get_json()
    assert body["target_score"] is None and "1 of 2 targets not yet assessed (Rekap anggaran)" in body["reason"]
    linked, manual = body["targets"]
    # 5 approved entries x 3 = 15 of 20 laporan: 75%.
    assert linked["score"] == "75.00" and "from creditable entries of cat-lap" in linked["explanation"]

    assert scoring.feed(ev.month_closed("dinas-t", 2024, 3, new_nip())) == [True]
    [first] = [d for d in _scored(scoring.published()) if d["employee_id"] == staff]
    assert first["target_score"] is None and "not yet assessed" in first["breakdown"]["target"]["reason"]

    assessed = scoring.client.put(f"/targets/{staff}/2024-03/assessment", headers=token(boss, "supervisor"), json={
        "targets": [{"target_id": manual["target_id"], "quantity": 2, "quality": 90, "time_days": 8}]})
    assert assessed.status_code == 200, assessed.get_json()
    # Rekap: quantity 2/2 = 100, quality 90/100 = 90, time 10/8 = 125 capped at 100 -> mean 96.67.
    # Month: (3 x 75 + 1 x 96.67) / 4 = 80.4175 -> 80.42.
    assert assessed.get_json()["target_score"] == "80.42"
    [second] = _scored(scoring.published())
    assert second["version"] == 2 and second["target_score"] == "80.42"
    assert [line["score"] for line in second["breakdown"]["target"]["lines"]] == ["75.00", "96.67"]

    mine = scoring.client.get(f"/targets/{staff}/2024-03", headers=token(staff, "staff"))
    assert mine.status_code == 200 and mine.get_json()["target_score"] == "80.42"


def test_no_targets_is_a_missing_score_that_says_who_must_act(scoring, team, new_nip):
    _, _, other = team
    scoring.feed(ev.month_closed("dinas-t", 2024, 3, new_nip()))
    scored = {d["employee_id"]: d for d in _scored(scoring.published())}
    assert scored[other]["target_score"] is None
    assert "no SKP targets" in scored[other]["breakdown"]["target"]["reason"]
    assert "supervisor" in scored[other]["breakdown"]["target"]["reason"]


def test_only_the_approver_sets_or_assesses_and_staff_read_only_their_own(scoring, team, token, new_nip):
    boss, staff, other = team
    target = {"targets": [{"output": "Laporan", "quantity": 1, "output_unit": "laporan"}]}
    assert scoring.client.put(f"/targets/{staff}/2024-03", json=target,
                              headers=token(new_nip(), "supervisor")).status_code == 403
    assert scoring.client.put(f"/targets/{staff}/2024-03", json=target,
                              headers=token(staff, "staff")).status_code == 403
    assert scoring.client.get(f"/targets/{staff}/2024-03", headers=token(other, "staff")).status_code == 403
    bad = scoring.client.put(f"/targets/{staff}/2024-03", headers=token(boss, "supervisor"),
                             json={"targets": [{"output": "Laporan", "quantity": 0, "output_unit": "laporan"}]})
    assert bad.status_code == 422 and "targets.0.quantity" in str(bad.get_json())
    unknown = scoring.client.put(f"/targets/{staff}/2024-03/assessment", headers=token(boss, "supervisor"),
                                 json={"targets": [{"target_id": "nope", "quantity": 1}]})
    assert unknown.status_code == 422 and unknown.get_json()["errors"][0]["field"] == "targets.0.target_id"
