"""Staffing posture (ABK) and the public aggregates on PostgreSQL."""
import csv
import io
from datetime import date

import pytest
import scoring_events as ev

from runtime.events import make_event

pytestmark = pytest.mark.postgres
ON = date(2024, 3, 4)
GOOD = {name: 4 for name in ("berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif",
                             "kolaboratif")}


def test_posture_per_unit_and_position(scoring, new_nip, token):
    boss = new_nip()
    clerks = [new_nip() for _ in range(3)]
    analyst = new_nip()
    scoring.feed(ev.unit("dinas-c", "Dinas C"), ev.position("pos-clerk", "Pengadministrasi Umum"),
                 ev.position("pos-analyst", "Analis Kebijakan"),
                 ev.employee(boss, "dinas-c", position_id="pos-head"),
                 *(ev.employee(n, "dinas-c", supervisor=boss, position_id="pos-clerk") for n in clerks),
                 ev.employee(analyst, "dinas-c", supervisor=boss, position_id="pos-analyst"),
                 ev.employee(new_nip(), "dinas-other", position_id="pos-clerk"))
    # One month of 6,250 effective minutes per person: clerks 12,500 min of work (2.00 people), analyst 7,500.
    work = [(clerks[0], "c1", 100, 75), (clerks[1], "c2", 50, 100), (analyst, "a1", 150, 50)]
    for nip, entry_id, norm, volume in work:
        entry = ev.entry(nip, entry_id, ON, "08:00", "09:00", norm_minutes=norm, quantity=volume)
        scoring.feed(entry, ev.decision(nip, entry_id, ON, boss, credited=60))
    scoring.feed(ev.entry(clerks[2], "c3", ON, "08:00", "09:00", norm_minutes=1000, quantity=10))  # not approved
    rejected = ev.entry(analyst, "a2", ON, "09:00", "10:00", norm_minutes=1000, quantity=10)
    scoring.feed(rejected, ev.decision(analyst, "a2", ON, boss, action="reject"))

    table = scoring.client.get("/posture?year=2024&months=3", headers=token(new_nip(), "admin"))
    assert table.status_code == 200, table.get_json()
    lines = {(l["unit_id"], l["position_id"]): l for l in table.get_json()["lines"]}
    clerk = lines[("dinas-c", "pos-clerk")]
    assert (clerk["workload_minutes"], clerk["staff_present"], clerk["staff_needed"], clerk["efficiency"],
            clerk["band"]) == (12500, 3, "2.00", "0.67", "C")
    assert clerk["position_name"] == "Pengadministrasi Umum" and clerk["effective_minutes_per_person"] == "6250.00"
    assert (lines[("dinas-c", "pos-analyst")]["efficiency"], lines[("dinas-c", "pos-analyst")]["band"]) == ("1.20", "A")
    whole = lines[("dinas-c", None)]
    assert (whole["workload_minutes"], whole["staff_present"], whole["unit_name"]) == (20000, 5, "Dinas C")
    assert lines[("dinas-other", "pos-clerk")]["band"] == "E"  # staff with no approved work

    exported = scoring.client.get("/posture.csv?year=2024&months=3", headers=token(new_nip(), "ops"))
    assert exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert {"unit_id": "dinas-c", "position_id": "pos-clerk", "band": "C"}.items() <= next(
        r for r in rows if r["position_id"] == "pos-clerk" and r["unit_id"] == "dinas-c").items()

    own = scoring.client.get("/posture?year=2024&months=1-12", headers=token(boss, "supervisor")).get_json()
    assert {l["unit_id"] for l in own["lines"]} == {"dinas-c"}
    assert own["lines"][0]["effective_minutes_per_person"] == "75000.00"
    assert scoring.client.get("/posture?year=2024", headers=token(clerks[0], "staff")).status_code == 403
    verifier = new_nip()  # a verifier sees the units assigned to them, and none before any is
    assert scoring.client.get("/posture?year=2024&months=3", headers=token(verifier, "verifier")).status_code == 403
    scoring.feed(make_event("approvals.verifier.assigned", f"{verifier}:dinas-other",
                            {"verifier_id": verifier, "unit_id": "dinas-other", "active": True}, "approvals"))
    scoped = scoring.client.get("/posture?year=2024&months=3", headers=token(verifier, "verifier")).get_json()
    assert {l["unit_id"] for l in scoped["lines"]} == {"dinas-other"}
    invalid = scoring.client.get("/posture?year=20x4&months=0-13", headers=token(boss, "admin"))
    assert invalid.status_code == 422
    assert {e["field"] for e in invalid.get_json()["errors"]} == {"year", "months"}


def test_public_aggregates_need_no_login_and_hide_small_groups(scoring, new_nip, token):
    boss = new_nip()
    big = [new_nip() for _ in range(6)]
    small = [new_nip() for _ in range(2)]
    scoring.feed(ev.unit("dinas-big", "Dinas Besar"), ev.unit("dinas-small", "Dinas Kecil"),
                 ev.employee(boss, "setda"),
                 *(ev.employee(n, "dinas-big", supervisor=boss) for n in big),
                 *(ev.employee(n, "dinas-small", supervisor=boss) for n in small))
    for nip in big[:5] + small:
        scoring.client.put(f"/behaviour/{nip}/2024-03", json=GOOD, headers=token(boss, "supervisor"))
    scoring.feed(ev.month_closed("dinas-big", 2024, 3, new_nip()), ev.month_closed("dinas-small", 2024, 3, new_nip()))

    response = scoring.client.get("/public/units?year=2024&month=3")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert not any(nip in text for nip in big + small + [boss])
    units = {u["unit_id"]: u for u in response.get_json()["units"]}
    shown = units["dinas-big"]
    assert shown["staff"] == {"value": 6, "text": "6"} and shown["unit_name"] == "Dinas Besar"
    assert {p["predicate"]: p["value"] for p in shown["predicates"]}["Butuh Perbaikan"] == 5
    assert shown["average_discipline_score"] == "100.00"
    hidden = units["dinas-small"]
    assert hidden["staff"] == {"value": None, "text": "<5"}
    assert hidden["average_activity_score"] is None and all(p["value"] is None for p in hidden["predicates"])
    missing = scoring.client.get("/public/units?year=2024")
    assert missing.status_code == 422 and missing.get_json()["errors"][0]["field"] == "month"
