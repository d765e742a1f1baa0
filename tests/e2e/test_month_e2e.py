"""A whole month across every service on the real broker: device punches and daily entries for a small
unit, supervisors' decisions, verification closing the month, scores, and a payroll run whose amounts
match the ones computed by hand below."""
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest

from runtime.projection import replay
from scenarios.clients import wait_until
from scenarios.month import play_month
from tests.tokens import bearer_token

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def _previous_month(today: date) -> tuple[int, int]:
    return (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)


def _score(credited: int, effective: int) -> Decimal:
    return (Decimal(credited) / Decimal(effective) * 100).quantize(Decimal("0.01"), ROUND_HALF_UP)


def test_a_month_from_device_punches_to_an_approved_payroll_run(platform, kafka_bootstrap):
    api = platform("demo")
    year, month = _previous_month(date.today())
    result = play_month(api, bearer_token, year, month)
    cast, plan, payslips = result["cast"], result["plan"], result["payslips"]
    days = len(plan.working_days)
    # Everyone's schedule is the Perpres week: 450 net minutes a day (Mon-Thu 07:30-16:00 less 60, Fri
    # 07:30-16:30 less 90). Each present day carries one approved entry of 7 x 60 = 420 credited minutes.
    full = _score(420 * days, 450 * days)  # 93.33
    assert full == Decimal("93.33")
    expected = {
        # Head, job class 12 (Rp 8.600.000), PNS: kinerja 60% x 93.33% + disiplin 40% in full.
        cast.head: int(Decimal(8_600_000) * Decimal("0.60") * full / 100) + 3_440_000,
        # Staff A, job class 9 (Rp 5.000.000), PNS, never late: 3.000.000 x 93.33% + 2.000.000.
        cast.staff_a: 2_799_900 + 2_000_000,
    }
    # Staff B, job class 7 (Rp 3.500.000), CPNS at 80% = Rp 2.800.000; absent once without notice (the day's
    # 450 minutes still count as effective), late 35 minutes twice (TL2: 1% of the whole each), TK 3%.
    b_score = _score(420 * (days - 1), 450 * days)
    expected[cast.staff_b] = (int(Decimal(1_680_000) * b_score / 100) + 1_120_000
                              - 2 * 28_000   # TL2 twice: 1% of Rp 2.800.000
                              - 84_000)      # TK once: 3% of Rp 2.800.000
    lines = {nip: [(line["code"], line["rule"], line["amount"]) for line in p["lines"]] for nip, p in payslips.items()}
    assert {nip: p["gross"] for nip, p in payslips.items()} == expected, lines
    for payslip in payslips.values():
        assert sum(line["amount"] for line in payslip["lines"]) == payslip["net"]
    b_rules = [line["rule"] for line in payslips[cast.staff_b]["lines"] if line["code"] == "discipline"]
    assert sum("TL2" in rule for rule in b_rules) == 2 and sum("TK" in rule for rule in b_rules) == 1

    # Scoring: B's two late mornings are flagged with the punches as evidence; the unit's staffing posture
    # counts every approved entry's norm x volume; the public table hides a unit of three people.
    late = [f for f in result["flags_b"] if f["kind"] == "late_arrival"]
    assert sorted(f["local_date"] for f in late) == sorted(str(d) for d in plan.late_days_b)
    assert all(f["evidence"]["punch_ids"] for f in late)
    unit_posture = [line for line in result["posture"] if line["position_id"] is None]
    assert unit_posture[0]["workload_minutes"] == 420 * (3 * days - 1) and unit_posture[0]["staff_present"] == 3
    assert result["public"][0]["staff"]["text"] == "<5" and result["public"][0]["average_activity_score"] is None
    assert result["evidence"]["mime"] == "image/png"  # judged by its bytes

    run = result["run"]
    assert run["state"] == "approved" and run["approved_by"] == cast.finance_approver

    def published():
        types = set()
        replay(kafka_bootstrap, ["payroll.runs"], lambda e: types.add(e.type) if e.data["run_id"] == run["run_id"] else None)
        return {"payroll.run.drafted", "payroll.run.approved"} <= types

    wait_until("the run's events on Kafka", published, timeout_s=60)
