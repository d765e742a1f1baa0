"""POST /simulations on PostgreSQL: a closed month priced under another policy beside the one in force.

In force: the national preset. Job class 8 = Rp 4.200.000; kinerja 60% x activity score, disiplin 40%;
deductions in percent of the whole base (TL2 1%); BPJS 1% withheld; no grade recorded, so no tax.
Candidate (uploaded): kinerja 50 / disiplin 50 and TL2 2%.

Siti (PNS, activity 95, TL2 on 3 Nov):
  in force:  60% x 4.200.000 x 95% = 2.394.000 + 40% x 4.200.000 = 1.680.000 - 1% x 4.200.000 = 42.000
             = 4.032.000 gross; BPJS 40.320; net 3.991.680
  candidate: 50% x 4.200.000 x 95% = 1.995.000 + 2.100.000 - 2% x 4.200.000 = 84.000
             = 4.011.000 gross; BPJS 40.110; net 3.970.890            -> loses 20.790 net, costs 21.000 less
Budi (CPNS 80% = 3.360.000, activity 80, no deduction):
  in force:  60% x 3.360.000 x 80% = 1.612.800 + 1.344.000 = 2.956.800 gross; BPJS 29.568; net 2.927.232
  candidate: 50% x 3.360.000 x 80% = 1.344.000 + 1.680.000 = 3.024.000 gross; BPJS 30.240; net 2.993.760
                                                                      -> gains 66.528 net, costs 67.200 more
Budget of the unit Rp 7.000.000: in force costs 6.988.800 (11.200 unspent), the candidate 7.035.000
(35.000 over); impact +46.200.
"""
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from payroll_testdata import UNIT, day, scored

pytestmark = pytest.mark.postgres
FINANCE = "199001012015031001"
CANDIDATE = (Path(__file__).resolve().parents[2] / "data" / "policy_kinerja_50_disiplin_50.toml").read_text()


@pytest.fixture
def november(deliver, org, client, token):
    deliver("scoring.month.scored", org["siti"], scored(org["siti"], 2026, 11, activity="95",
                                                        days=[day(date(2026, 11, 3), late="TL2")]))
    deliver("scoring.month.scored", org["budi"], scored(org["budi"], 2026, 11, activity="80"))
    assert client.put(f"/budgets/{UNIT}/2026-11", json={"amount": 7_000_000},
                      headers=token(FINANCE, "finance")).status_code == 200
    return org


def _simulate(client, token, body, who=FINANCE, role="finance"):
    return client.post("/simulations", json=body, headers=token(who, role))


def test_a_closed_month_under_an_uploaded_policy_with_hand_computed_winners_losers_and_budget(
        client, token, november, sessions):
    response = _simulate(client, token, {"year": 2026, "month": 11, "policy": CANDIDATE})
    assert response.status_code == 200, response.json
    result = response.json
    assert result["alternative"]["policy"] == "uploaded policy"
    assert result["totals"]["baseline"] == {"employees": 2, "gross": 6_988_800, "net": 3_991_680 + 2_927_232,
                                            "cost": 6_988_800}
    assert result["totals"]["alternative"] == {"employees": 2, "gross": 7_035_000, "net": 3_970_890 + 2_993_760,
                                               "cost": 7_035_000}
    assert result["budget"] == {"planned": 7_000_000, "baseline_cost": 6_988_800, "alternative_cost": 7_035_000,
                                "impact": 46_200, "alternative_unspent": -35_000}
    [unit] = result["units"]
    assert (unit["unit_id"], unit["budget"], unit["baseline_unspent"], unit["alternative_unspent"],
            unit["difference"]) == (UNIT, 7_000_000, 11_200, -35_000, 46_200)
    assert [(j["job_class"], j["employees"], j["difference"]) for j in result["job_classes"]] == [(8, 2, 46_200)]
    [winner], [loser] = result["winners"], result["losers"]
    assert (winner["employee_id"], winner["baseline_net"], winner["alternative_net"], winner["difference"]) == (
        november["budi"], 2_927_232, 2_993_760, 66_528)
    assert (loser["employee_id"], loser["difference"]) == (november["siti"], -20_790)
    changed = {(line["description"], line["baseline"], line["alternative"]) for line in loser["changed_lines"]}
    assert changed == {("kinerja", 2_394_000, 1_995_000), ("disiplin", 1_680_000, 2_100_000),
                       ("TL2 late arrival", -42_000, -84_000), ("BPJS Kesehatan", -40_320, -40_110)}
    tl2 = next(line for line in loser["changed_lines"] if line["code"] == "discipline")
    assert "1%" in tl2["baseline_rule"] and "2%" in tl2["alternative_rule"]
    from payroll.tables import payslips, runs
    with sessions() as session:  # nothing written
        assert session.execute(select(func.count()).select_from(runs)).scalar() == 0
        assert session.execute(select(func.count()).select_from(payslips)).scalar() == 0


def test_the_preset_in_force_changes_nothing(client, token, november):
    result = _simulate(client, token, {"year": 2026, "month": 11, "preset": "national"}).json
    assert (result["winners"], result["losers"], result["unchanged"]) == ([], [], 2)
    assert result["budget"]["impact"] == 0


def test_only_a_closed_month_is_simulated_and_the_refusal_says_why(client, token, november):
    refused = _simulate(client, token, {"year": 2026, "month": 10, "preset": "surabaya"})
    assert refused.status_code == 409
    assert refused.json["errors"][0]["field"] == "month"
    assert "no unit has closed 2026-10 yet" in refused.json["errors"][0]["message"]


def test_a_bad_policy_is_refused_with_every_error_named_by_key(client, token, november):
    bad = _simulate(client, token, {"year": 2026, "month": 11, "policy": "[payroll]\ncpns_percent = 120\n"})
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json["errors"]] == ["policy.payroll.cpns_percent"]
    unknown = _simulate(client, token, {"year": 2026, "month": 11, "preset": "../national"})
    assert unknown.status_code == 422 and unknown.json["errors"][0]["field"] == "preset"
    both = _simulate(client, token, {"year": 2026, "month": 11, "preset": "national", "policy": CANDIDATE})
    assert both.status_code == 422
    not_toml = _simulate(client, token, {"year": 2026, "month": 11, "policy": "[payroll"})
    assert not_toml.status_code == 422 and not_toml.json["errors"][0]["field"] == "policy"


def test_only_finance_and_admin_simulate(client, token, november):
    assert _simulate(client, token, {"year": 2026, "month": 11, "preset": "national"}, november["siti"],
                     "staff").status_code == 403
    assert _simulate(client, token, {"year": 2026, "month": 11, "preset": "national"}, FINANCE,
                     "admin").status_code == 200


def test_exact_prices_on_the_minutes_scoring_sent(client, token, deliver, org):
    # Siti in September: 8.100 credited ÷ 9.450 effective min; scoring publishes 85,71%.
    # in force (national, the score as published): 60% x 4.200.000 x 85,71% = 2.159.892 + 1.680.000 = 3.839.892
    # exact: 2.520.000 x 8.100 / 9.450 = 2.520.000 x 6/7 = 2.160.000 + 1.680.000 = 3.840.000 -> costs 108 more.
    deliver("scoring.month.scored", org["siti"], {**scored(org["siti"], 2026, 9, activity="85.71"),
                                                  "credited_minutes": 8_100, "effective_minutes": 9_450})
    result = _simulate(client, token, {"year": 2026, "month": 9,
                                       "policy": '[payroll.precision]\nscore = "exact"\n'}).json
    assert (result["totals"]["baseline"]["gross"], result["totals"]["alternative"]["gross"]) == (3_839_892, 3_840_000)
    [winner] = result["winners"]
    [line] = [c for c in winner["changed_lines"] if c["description"] == "kinerja"]
    assert (line["baseline"], line["alternative"]) == (2_159_892, 2_160_000)
    assert "(exact: 8.100 ÷ 9.450 min) = Rp 2.160.000" in line["alternative_rule"]
