"""A regency's month on the real broker, drawn from a seed and played through every service's public API:
every figure the platform reports is the one the seed predicted, and playing the same seed and month again
adds nothing and reports the same run. CI plays four departments of a head, three section heads and one
staff member per section (28 members) to stay within its time; KINERJA_REGENCY_STAFF=8 plays the 112 of
`kinerja-play` (567 s here on a loaded two-core machine)."""
import os
import time
from collections import Counter
from datetime import date

import jwt
import pytest

from scenarios.cli import report
from scenarios.regency import MonthPlan, Regency, expected, play, sign_ins
from tests.tokens import bearer_token

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
SIZE = dict(departments=int(os.environ.get("KINERJA_REGENCY_DEPTS", "4")), sections=3,
            staff_per_section=int(os.environ.get("KINERJA_REGENCY_STAFF", "1")))


def _previous_month(today: date) -> tuple[int, int]:
    return (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)


def _log(line):
    print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)


@pytest.mark.timeout(1200)  # two plays of ~2,000 API calls: a few minutes quiet, over ten on a loaded two-core machine
def test_a_regency_month_matches_its_seed_and_plays_again_without_change(platform, capsys):
    api = platform("demo")
    regency = Regency.generate(seed=2026, **SIZE)
    plan = MonthPlan.draw(regency, *_previous_month(date.today()))
    want = expected(regency, plan)
    first = play(api, bearer_token, regency, plan, log=_log, timeout_s=float(os.environ.get("KINERJA_REGENCY_WAIT", "240")))

    assert first["added"]["entries"] == sum(w["entries"] for w in want.values())
    for nip, w in want.items():
        days = first["days"][nip]
        assert len(days) == len(plan.working_days), nip
        assert sum(1 for d in days if d["clock_in"]) == w["present"], nip
        assert sum(1 for d in days if d["absence_kind"] == "leave") == w["on_leave"], nip
        assert Counter(d["late_band"] for d in days if d["late_band"]) == w["late"], nip
        assert Counter(d["early_band"] for d in days if d["early_band"]) == w["early"], nip
        assert first["scores"][nip]["credited_minutes"] == w["credited_minutes"], nip
        payslip = first["payslips"][nip]
        assert sum(line["amount"] for line in payslip["lines"]) == payslip["net"], nip
        discipline = [line["rule"] for line in payslip["lines"] if line["code"] == "discipline"]
        assert sum("TK" in rule for rule in discipline) == w["absent_without_notice"], (nip, discipline)
    assert first["run"]["state"] == "approved"
    late_flags = Counter(f["employee_id"] for f in first["flags"] if f["kind"] == "late_arrival")
    assert late_flags == Counter({nip: sum(w["late"].values()) for nip, w in want.items() if w["late"]})
    assert {u["unit_id"] for u in first["public"]} == {d.unit_id for d in regency.departments}

    again = play(api, bearer_token, regency, plan, log=_log)
    assert again["added"] == {}
    assert again["run"]["run_id"] == first["run"]["run_id"]
    assert {n: p["net"] for n, p in again["payslips"].items()} == {n: p["net"] for n, p in first["payslips"].items()}

    accounts = sign_ins(api, bearer_token, regency)
    capsys.readouterr()
    report(regency, plan, again, "127.0.0.1", accounts)
    printed = capsys.readouterr().out
    assert "Differences between the plan and the platform" not in printed  # every planned figure agrees
    assert all(d.name in printed for d in regency.departments)
    assert "One payslip traced" in printed and "/activate" in printed
    assert {a["role"] for a in accounts} == {"staff", "supervisor", "verifier", "finance", "admin"}
    for account in accounts:  # each printed account is real: its code sets a password that signs in with its roles
        assert f"NIP {account['nip']}  activation code {account['code']}" in printed
        api["identity"].ok("POST", "/accounts/activate", json={
            "nip": account["nip"], "code": account["code"], "password": "rahasia-bulan-ini"}, expect=(204,))
        tokens = api["identity"].ok("POST", "/auth/login", json={"nip": account["nip"], "password": "rahasia-bulan-ini"})
        assert set(account["roles"]) <= set(jwt.decode(tokens["access_token"], options={"verify_signature": False})["roles"])
    assert f"{sum(p['net'] for p in again['payslips'].values()):,}".replace(",", ".") in printed
