"""Comparing a month priced twice: lines matched by code, description and rank; the budget sees no withholding."""
from payroll.domain.simulation import changed_lines, compare, row_cost


def _line(code, description, amount, rule="r"):
    return {"code": code, "description": description, "rule": rule, "evidence": "", "amount": amount}


def _row(employee_id, lines, unit="U1", job_class=8):
    gross = sum(l["amount"] for l in lines if l["code"] not in ("tax", "contribution"))
    return {"employee_id": employee_id, "name": employee_id, "unit_id": unit, "gross": gross,
            "net": sum(l["amount"] for l in lines), "lines": lines, "facts": {"job_class": job_class}}


def test_equal_lines_are_matched_by_rank_and_only_changes_are_listed():
    # Two TL1 days: 0,5% then 1% of Rp 4.200.000 = 21.000 -> 42.000 each; the second day's line is new.
    before = [_line("component", "kinerja", 2_520_000), _line("discipline", "TL1 late arrival", -21_000)]
    after = [_line("component", "kinerja", 2_520_000), _line("discipline", "TL1 late arrival", -42_000),
             _line("discipline", "TL1 late arrival", -42_000)]
    assert [(c["baseline"], c["alternative"]) for c in changed_lines(before, after)] == [(-21_000, -42_000),
                                                                                         (None, -42_000)]


def test_withholding_costs_the_budget_nothing():
    # gross 4.000.000; BPJS 1% = 40.000 and PPh 5% = 200.000 withheld: the budget pays 4.000.000.
    row = _row("a", [_line("component", "kinerja", 4_000_000), _line("contribution", "BPJS", -40_000),
                     _line("tax", "PPh 21", -200_000)])
    assert row_cost(row) == 4_000_000


def test_someone_priced_by_only_one_policy_is_a_winner_or_loser():
    # A job class with no base in the candidate: b is skipped there, so the candidate saves b's 1.000.000.
    base = [_row("a", [_line("component", "k", 1_000_000)]), _row("b", [_line("component", "k", 1_000_000)], "U2")]
    result = compare(base, base[:1], {"U1": 1_500_000})
    assert [p["employee_id"] for p in result["losers"]] == ["b"] and result["losers"][0]["alternative_net"] is None
    assert result["unchanged"] == 1 and result["budget"]["impact"] == -1_000_000
    assert [(u["unit_id"], u["budget"], u["alternative_unspent"]) for u in result["units"]] == [
        ("U1", 1_500_000, 500_000), ("U2", None, None)]
