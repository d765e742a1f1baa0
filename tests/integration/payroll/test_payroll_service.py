"""Payroll runs on PostgreSQL: lifecycle, immutability, corrections as adjustments, the cut-off, authorisation."""
from datetime import date

import pytest
from sqlalchemy import select

from payroll_testdata import UNIT, at, day, scored

pytestmark = pytest.mark.postgres

# National policy, job class 8 = Rp 4.200.000; kinerja 60% × activity score, disiplin 40% less deductions;
# BPJS 1% withheld; no grade recorded = no tax.
SITI_NOV_NET = 3_866_940      # 2.268.000 + 1.680.000 − 42.000 (TL2 on 3 Nov) = 3.906.000 gross − 39.060 BPJS
BUDI_NOV_NET = 2_927_232      # CPNS 80%: 1.612.800 + 1.344.000 = 2.956.800 gross − 29.568 BPJS
SITI_NOV_V2_NET = 4_116_420   # activity 100: 2.520.000 + 1.680.000 − 42.000 = 4.158.000 − 41.580


def _november(deliver, org, siti_activity="90", version=1, occurred_at=None):
    deliver("scoring.month.scored", org["siti"], scored(org["siti"], 2026, 11, version, siti_activity,
                                                        [day(date(2026, 11, 3), late="TL2")]),
            occurred_at=occurred_at or at(2026, 12, 1))


def _run(client, token, year=2026, month=11, by="199001012015031001"):
    response = client.post("/runs", json={"year": year, "month": month}, headers=token(by, "finance"))
    assert response.status_code == 201, response.json
    return response.json


def _approve(client, token, run, reviewer="198001012005011001", approver="198501012010011001"):
    assert client.post(f"/runs/{run['run_id']}/review", headers=token(reviewer, "finance")).status_code == 200
    response = client.post(f"/runs/{run['run_id']}/approve", headers=token(approver, "finance"))
    assert response.status_code == 200, response.json
    return response.json


def _payslip(client, token, run_id, employee_id):
    response = client.get(f"/runs/{run_id}/payslips/{employee_id}", headers=token(employee_id, "finance"))
    assert response.status_code == 200, response.json
    return response.json


def _events(sessions):
    from payroll.tables import outbox
    with sessions() as session:
        return [(r.type, r.key) for r in session.execute(select(outbox.c.type, outbox.c.key).order_by(outbox.c.id))]


def test_a_run_goes_draft_reviewed_approved_paid_with_hand_computed_amounts(client, token, deliver, org, sessions):
    _november(deliver, org)
    deliver("scoring.month.scored", org["budi"], scored(org["budi"], 2026, 11, activity="80"))
    drafter, approver = "199001012015031001", "198501012010011001"
    run = _run(client, token, by=drafter)
    assert (run["state"], run["employees"], run["net_total"]) == ("draft", 2, SITI_NOV_NET + BUDI_NOV_NET)
    assert _payslip(client, token, run["run_id"], org["siti"])["net"] == SITI_NOV_NET
    assert _payslip(client, token, run["run_id"], org["budi"])["net"] == BUDI_NOV_NET

    again = client.post(f"/runs/{run['run_id']}/recompute", headers=token(drafter, "finance")).json
    assert (again["changed"], again["content_hash"]) == (False, run["content_hash"])
    assert client.post("/runs", json={"year": 2026, "month": 11}, headers=token(drafter, "finance")).status_code == 409

    client.post(f"/runs/{run['run_id']}/review", headers=token(drafter, "finance"))
    refused = client.post(f"/runs/{run['run_id']}/approve", headers=token(drafter, "finance"))
    assert refused.status_code == 403 and "separation of duties" in refused.json["detail"]
    stale = client.post(f"/runs/{run['run_id']}/approve", json={"content_hash": "0" * 64},
                        headers=token(approver, "finance"))
    assert stale.status_code == 409
    approved = client.post(f"/runs/{run['run_id']}/approve", json={"content_hash": run["content_hash"]},
                           headers=token(approver, "finance")).json
    assert (approved["state"], approved["approved_by"], approved["approved_hash"]) == \
        ("approved", approver, run["content_hash"])

    paid = client.post(f"/runs/{run['run_id']}/paid", headers=token(approver, "finance"))
    assert paid.json["state"] == "paid"
    assert _events(sessions) == [("payroll.run.drafted", run["run_id"]), ("payroll.run.approved", run["run_id"]),
                                 ("payroll.run.paid", run["run_id"])]


def test_an_approved_run_refuses_change(client, token, deliver, org):
    _november(deliver, org)
    run = _approve(client, token, _run(client, token))
    for action in ("recompute", "review", "return", "approve"):
        response = client.post(f"/runs/{run['run_id']}/{action}", headers=token("197001012000011001", "finance"))
        assert response.status_code == 409, action
    _november(deliver, org, siti_activity="100", version=2, occurred_at=at(2026, 12, 5))
    assert _payslip(client, token, run["run_id"], org["siti"])["net"] == SITI_NOV_NET
    assert client.get(f"/runs/{run['run_id']}", headers=token(org["siti"], "admin")).json["content_hash"] \
        == run["content_hash"]


def test_a_correction_after_approval_is_an_adjustment_in_the_next_run(client, token, deliver, org):
    _november(deliver, org)
    _approve(client, token, _run(client, token))
    _november(deliver, org, siti_activity="100", version=2, occurred_at=at(2026, 12, 5))
    deliver("scoring.month.scored", org["siti"], scored(org["siti"], 2026, 12, activity="90"),
            occurred_at=at(2027, 1, 1))
    december = _run(client, token, 2026, 12)
    slip = _payslip(client, token, december["run_id"], org["siti"])
    adjustment = [line for line in slip["lines"] if line["code"] == "adjustment"]
    assert [line["amount"] for line in adjustment] == [SITI_NOV_V2_NET - SITI_NOV_NET]
    assert "correction of November 2026" in adjustment[0]["description"]
    assert slip["net"] == 3_908_520 + 249_480  # December (3.948.000 − 39.480) plus the November difference

    again = client.post(f"/runs/{december['run_id']}/recompute", headers=token("199001012015031001", "finance"))
    assert again.json["changed"] is False
    assert again.json["content_hash"] == december["content_hash"]


def test_a_correction_after_the_cut_off_day_lands_on_exactly_one_later_payslip_naming_its_cause(
        client, token, deliver, org):
    finance = token("199001012015031001", "finance")
    _november(deliver, org)
    _approve(client, token, _run(client, token))
    cause = "attendance day 2026-11-03 rebuilt (version 2): leave, leave letter 800/123/BKPSDM/2026"
    deliver("scoring.month.scored", org["siti"], dict(scored(org["siti"], 2026, 11, 2, "100", [
        day(date(2026, 11, 3), late="TL2")]), cause=cause), occurred_at=at(2026, 12, 11))  # cut-off: 10 December
    for year, month in ((2026, 12), (2027, 1), (2027, 2)):
        deliver("scoring.month.scored", org["siti"], scored(org["siti"], year, month, activity="90"),
                occurred_at=at(year + (month == 12), month % 12 + 1, 1))

    december = _run(client, token, 2026, 12)
    slip = _payslip(client, token, december["run_id"], org["siti"])
    assert [line for line in slip["lines"] if line["code"] == "adjustment"] == []
    waiting = {"employee_id": org["siti"], "year": 2026, "month": 11, "version": 2, "received_on": "2026-12-11",
               "deadline": "2026-12-10", "lands_in": "2027-01", "cause": cause + "; scores version 1 → 2"}
    assert december["corrections_waiting"] == [waiting]
    assert client.get("/corrections", headers=finance).json["corrections"] == [dict(waiting, run_id=None)]
    assert client.get("/corrections", headers=token(org["siti"], "staff")).status_code == 403
    _approve(client, token, december)

    january = _run(client, token, 2027, 1)
    [line] = [line for line in _payslip(client, token, january["run_id"], org["siti"])["lines"]
              if line["code"] == "adjustment"]
    assert line["amount"] == SITI_NOV_V2_NET - SITI_NOV_NET and "leave letter 800/123/BKPSDM/2026" in line["rule"]
    assert january["corrections_waiting"] == []
    [drafted] = client.get("/corrections", headers=finance).json["corrections"]
    assert (drafted["lands_in"], drafted["run_id"]) == ("2027-01", january["run_id"])
    _approve(client, token, january)

    # Handled: never listed or paid again.
    assert client.get("/corrections", headers=finance).json["corrections"] == []
    february = _run(client, token, 2027, 2)
    assert [line for line in _payslip(client, token, february["run_id"], org["siti"])["lines"]
            if line["code"] == "adjustment"] == [] and february["corrections_waiting"] == []


def test_payslip_lines_show_rule_and_evidence_as_json_and_printable_html(client, token, deliver, org):
    _november(deliver, org)
    client.put(f"/grades/{org['siti']}", json={"grade": "III/a"}, headers=token("198001012005011001", "finance"))
    run = _approve(client, token, _run(client, token))
    slip = client.get(f"/runs/{run['run_id']}/payslips/{org['siti']}", headers=token(org["siti"])).json
    late = next(line for line in slip["lines"] if line["description"].startswith("TL2"))
    assert late["rule"] == "TL2 on 3 November 2026: 1% of Rp 4.200.000 = Rp 42.000"
    assert late["evidence"] == "attendance 2026-11-03: status present, late band TL2"
    tax = next(line for line in slip["lines"] if line["code"] == "tax")
    assert (tax["rule"], tax["evidence"]) == ("PPh 21 5% of Rp 3.906.000 = Rp 195.300", "grade III/a")
    assert slip["net"] == SITI_NOV_NET - 195_300

    page = client.get(f"/runs/{run['run_id']}/payslips/{org['siti']}.html", headers=token(org["siti"]))
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert "TL2 on 3 November 2026: 1% of Rp 4.200.000 = Rp 42.000" in text
    assert "Rp 3.671.640" in text and "November 2026" in text


def test_staff_see_only_their_own_payslips_of_approved_runs(client, token, deliver, org):
    _november(deliver, org)
    deliver("scoring.month.scored", org["budi"], scored(org["budi"], 2026, 11, activity="80"))
    run = _run(client, token)
    siti = token(org["siti"])
    assert client.get(f"/runs/{run['run_id']}/payslips/{org['siti']}", headers=siti).status_code == 404  # draft
    assert client.post("/runs", json={"year": 2026, "month": 12}, headers=siti).status_code == 403
    _approve(client, token, run)
    assert client.get(f"/runs/{run['run_id']}/payslips/{org['siti']}", headers=siti).status_code == 200
    assert client.get(f"/runs/{run['run_id']}/payslips/{org['budi']}", headers=siti).status_code == 403
    assert client.get(f"/runs/{run['run_id']}/payslips/{org['budi']}.html", headers=siti).status_code == 403
    listed = client.get(f"/runs/{run['run_id']}/payslips", headers=siti).json["payslips"]
    assert [p["employee_id"] for p in listed] == [org["siti"]]
    assert [p["net"] for p in client.get("/me/payslips", headers=siti).json["payslips"]] == [SITI_NOV_NET]
    every = client.get(f"/runs/{run['run_id']}/payslips", headers=token("198001012005011001", "finance")).json
    assert len(every["payslips"]) == 2
    assert client.get(f"/runs/{run['run_id']}/bank.csv", headers=siti).status_code == 403


def test_bank_file_and_summary(client, token, deliver, org):
    _november(deliver, org)
    deliver("scoring.month.scored", org["budi"], scored(org["budi"], 2026, 11, activity="80"))
    finance = token("198001012005011001", "finance")
    draft = _run(client, token)
    assert client.get(f"/runs/{draft['run_id']}/bank.csv", headers=finance).status_code == 409  # not approved
    run = _approve(client, token, draft)
    client.put(f"/bank-accounts/{org['siti']}", json={"bank_code": "BSI", "bank_account": "7001234567"},
               headers=finance)
    missing = client.get(f"/runs/{run['run_id']}/bank.csv", headers=finance)
    assert missing.status_code == 409 and org["budi"] in missing.json["detail"]
    summary = client.get(f"/runs/{run['run_id']}/bank-summary", headers=finance).json
    assert summary["missing_accounts"] == [org["budi"]]
    assert summary["units"] == [{"unit_id": UNIT, "employees": 1, "amount": SITI_NOV_NET}]
    client.put(f"/bank-accounts/{org['budi']}", json={"bank_code": "BPD", "bank_account": "0101-22-333"},
               headers=finance)
    csv = client.get(f"/runs/{run['run_id']}/bank.csv", headers=finance)
    lines = csv.get_data(as_text=True).splitlines()
    assert lines[0] == "employee_id,name,unit_id,bank_code,bank_account,amount,reference"
    assert sorted(line.split(",")[5] for line in lines[1:]) == sorted([str(SITI_NOV_NET), str(BUDI_NOV_NET)])
    assert client.get(f"/runs/{run['run_id']}/bank-summary", headers=finance).json["totals"] == \
        {"employees": 2, "amount": SITI_NOV_NET + BUDI_NOV_NET}


def test_bank_columns_come_from_the_policy(make_app, payroll_db, tmp_path, token, deliver, org):
    from runtime.config import repo_root
    policy = (repo_root() / "deploy" / "policies" / "national.toml").read_text().replace(
        "[payroll]\n", '[payroll]\nbank_columns = ["bank_account", "amount", "employee_id"]\nbank_delimiter = ";"\n', 1)
    (tmp_path / "region.toml").write_text(policy)
    client = make_app("payroll", payroll_db, policy_file=str(tmp_path / "region.toml")).test_client()
    _november(deliver, org)
    run = _approve(client, token, _run(client, token))
    client.put(f"/bank-accounts/{org['siti']}", json={"bank_code": "BSI", "bank_account": "7001234567"},
               headers=token("198001012005011001", "finance"))
    text = client.get(f"/runs/{run['run_id']}/bank.csv", headers=token("198001012005011001", "finance"))
    assert text.get_data(as_text=True).splitlines() == ["bank_account;amount;employee_id",
                                                        f"7001234567;{SITI_NOV_NET};{org['siti']}"]


def test_a_bad_bank_column_stops_the_service_at_start_up(make_app, payroll_db, tmp_path):
    from runtime.config import repo_root
    from runtime.policy import PolicyError
    policy = (repo_root() / "deploy" / "policies" / "national.toml").read_text().replace(
        "[payroll]\n", '[payroll]\nbank_columns = ["iban"]\n', 1)
    (tmp_path / "region.toml").write_text(policy)
    with pytest.raises(PolicyError, match="bank_columns"):
        make_app("payroll", payroll_db, policy_file=str(tmp_path / "region.toml"))


def test_budget_reports_planned_paid_and_unspent_per_unit(client, token, deliver, org):
    _november(deliver, org)
    deliver("scoring.month.scored", org["budi"], scored(org["budi"], 2026, 11, activity="80"))
    finance = token("198001012005011001", "finance")
    assert client.put(f"/budgets/{UNIT}/2026-11", json={"amount": 10_000_000}, headers=finance).status_code == 200
    client.put("/budgets/BAPPEDA/2026-11", json={"amount": 5_000_000}, headers=finance)
    run = _run(client, token)
    report = client.get(f"/runs/{run['run_id']}/budget", headers=finance).json
    cost = 3_906_000 + 2_956_800  # what the allowance costs: the gross, before BPJS is withheld from it
    assert report["units"] == [
        {"unit_id": "BAPPEDA", "planned": 5_000_000, "paid": 0, "unspent": 5_000_000, "name": None},
        {"unit_id": UNIT, "planned": 10_000_000, "paid": cost, "unspent": 10_000_000 - cost, "name": "Dinas Kominfo"},
    ]
    assert report["totals"]["unspent"] == 15_000_000 - cost
    bad = client.put(f"/budgets/{UNIT}/2026-13", json={"amount": -1}, headers=finance)
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "period"


def test_a_sanction_cuts_the_allowance_and_bad_input_names_the_fields(client, token, deliver, org):
    admin = token("198001012005011001", "admin")
    bad = client.put(f"/sanctions/{org['budi']}", json={"level": "severe", "start": "11-2026", "months": 2},
                     headers=admin)
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json["errors"]} == {"level", "start"}
    assert client.put(f"/sanctions/{org['budi']}", json={"level": "light", "start": "2026-11", "months": 3},
                      headers=token(org["siti"], "finance")).status_code == 403
    saved = client.put(f"/sanctions/{org['budi']}", json={"level": "light", "start": "2026-10", "months": 3,
                                                           "reason": "PP 94/2021"}, headers=admin)
    assert saved.json["percent_by_month"] == ["20", "30", "40"]
    deliver("scoring.month.scored", org["budi"], scored(org["budi"], 2026, 11, activity="80"))
    run = _run(client, token)
    slip = _payslip(client, token, run["run_id"], org["budi"])
    cut = next(line for line in slip["lines"] if line["code"] == "sanction")
    assert cut["rule"] == "light sanction, month 2: 30% of Rp 2.956.800 = Rp 887.040"
    assert slip["gross"] == 2_956_800 - 887_040
