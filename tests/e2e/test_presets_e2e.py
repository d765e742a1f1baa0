"""The same small month played under every policy preset in deploy/policies/: device punches through ADMS,
daily entries, supervisors' decisions, verification where the preset verifies, the month's scores and a
payroll run. Everyone with data gets a payslip whose lines explain themselves; staff A's gross is worked
out by hand below for each preset.

Only the timing windows are widened (a past month's entries and decisions are accepted, as in `demo`), so
the month can be played after it ended; every rule that prices the month is the preset's own.
The `demo` preset is played by tests/e2e/test_month_e2e.py with its own hand-computed amounts.
"""
import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from scenarios.month import TARGET_PER_DAY, play_month
from tests.tokens import bearer_token

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
POLICIES = Path(__file__).resolve().parents[2] / "deploy" / "policies"
PLAYED_ELSEWHERE = {"demo"}
WIDE_WINDOWS = {
    "activities.entry_window": 'mode = "within_days"\ndays = 70\n',
    "approvals.decision_deadline": 'mode = "days"\ndays = 70\n',
}
# Staff A: job class 9, PNS, present every working day from 07:25 to 5 minutes after the schedule's end,
# one approved entry a day worth 7 x 60 = 420 of the day's 450 effective minutes: activity 93.33%;
# behaviour 4 on each BerAKHLAK value (scale 1-5): 80%; her SKP target, 10 documents a working day, is
# linked to the item she logs 7 of a day: 70%. Never late, never absent: no deduction.
ACTIVITY, BEHAVIOUR, TARGET = Decimal("93.33"), Decimal("80"), Decimal("70")


def _pay(share: int, percent: Decimal) -> Decimal:
    return Decimal(share) * percent / 100


STAFF_A_GROSS = {
    # class 9 = Rp 5.000.000: kinerja 60% = 3.000.000 x 93,33% = 2.799.900; disiplin 40% = 2.000.000.
    "national": _pay(3_000_000, ACTIVITY) + 2_000_000,
    # Mempawah keeps the national placeholders and split: the same 4.799.900.
    "mempawah": _pay(3_000_000, ACTIVITY) + 2_000_000,
    # class 9 = Rp 3.600.000: kinerja 70% = 2.520.000 x 93,33% = 2.351.916; disiplin 30% = 1.080.000.
    "banda_aceh": _pay(2_520_000, ACTIVITY) + 1_080_000,
    # class 9 = Rp 4.300.000: kinerja 60% = 2.580.000 x 93,33% = 2.407.914; disiplin 40% = 1.720.000.
    "belitung_timur": _pay(2_580_000, ACTIVITY) + 1_720_000,
    # class 9 = Rp 4.800.000: disiplin 30% = 1.440.000; aktivitas 30% = 1.440.000 x 93,33% = 1.343.952;
    # target 25% = 1.200.000 x 70% = 840.000; perilaku 15% = 720.000 x 80% = 576.000.
    "banyuwangi": 1_440_000 + _pay(1_440_000, ACTIVITY) + _pay(1_200_000, TARGET) + _pay(720_000, BEHAVIOUR),
    # class 9 = Rp 7.000.000: disiplin 30% = 2.100.000; aktivitas 45% = 3.150.000 x 93,33% = 2.939.895;
    # lembur 5% = 350.000 x 76% (no overtime hours: the minimum score) = 266.000; skp 20% = 1.400.000 x 70%.
    "surabaya": 2_100_000 + _pay(3_150_000, ACTIVITY) + _pay(350_000, Decimal(76)) + _pay(1_400_000, TARGET),
}
PRESETS = sorted(path.stem for path in POLICIES.glob("*.toml") if path.stem not in PLAYED_ELSEWHERE)


def _previous_month(today: date) -> tuple[int, int]:
    return (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)


def _with_wide_windows(text: str) -> str:
    """The preset's text with its entry window and decision deadline tables replaced by wide ones."""
    kept, skipping = [], False
    for line in text.splitlines():
        header = re.match(r"^\[\[?([\w.]+)\]\]?", line)
        if header:
            skipping = header.group(1) in WIDE_WINDOWS
        if not skipping:
            kept.append(line)
    return "\n".join(kept + [f"\n[{name}]\n{body}" for name, body in WIDE_WINDOWS.items()]) + "\n"


def test_every_preset_is_played_with_a_hand_computed_amount():
    assert set(PRESETS) == set(STAFF_A_GROSS)


@pytest.mark.parametrize("preset", PRESETS)
def test_a_month_under_the_preset_pays_everyone_with_data(preset, platform, tmp_path):
    text = (POLICIES / f"{preset}.toml").read_text()
    policy = tmp_path / f"{preset}.toml"
    policy.write_text(_with_wide_windows(text))
    api = platform(policy)
    year, month = _previous_month(date.today())
    photo_required = re.search(r"(?m)^required\s*=\s*true", text) is not None
    result = play_month(api, bearer_token, year, month, photo_every_entry=photo_required)
    cast, plan, run, payslips = result["cast"], result["plan"], result["run"], result["payslips"]
    assert TARGET_PER_DAY == 10 and len(plan.working_days) > 0

    # Everyone with data is paid; nobody is skipped.
    assert set(payslips) == {cast.head, cast.staff_a, cast.staff_b} and run["skipped"] == []
    expected = int(STAFF_A_GROSS[preset].quantize(Decimal(1), ROUND_HALF_UP))
    lines = {nip: [(line["code"], line["rule"], line["amount"]) for line in p["lines"]] for nip, p in payslips.items()}
    assert payslips[cast.staff_a]["gross"] == expected, lines[cast.staff_a]

    # Every line explains itself, and the lines add up to the net.
    for payslip in payslips.values():
        assert sum(line["amount"] for line in payslip["lines"]) == payslip["net"]
        for line in payslip["lines"]:
            assert line["description"] and line["rule"] and line["evidence"], line

    # A component whose figure is missing (no SKP targets for the head and staff B) is paid by the preset's
    # rule, says who must act, and the run counts it.
    missing = [(nip, line) for nip, p in payslips.items() for line in p["lines"] if "is missing" in line["rule"]]
    assert all("supervisor" in line["evidence"] for _, line in missing)
    assert run["incomplete"]["count"] == len({nip for nip, _ in missing})
    priced_on_targets = 'source = "target"' in text
    assert sorted(nip for nip, _ in missing) == (sorted([cast.head, cast.staff_b]) if priced_on_targets else [])
