"""The TPP of each regional preset, case by case; every expected amount is worked out in its comment."""

from datetime import date
from decimal import Decimal

import pytest

from payroll.domain.tpp import EARNING_CODES, ActiveSanction, DayFact, EmployeeFacts, MonthFacts, compute_tpp


def staff(status="PNS", sanction=None, grade="II/c", job_class=8):
    return EmployeeFacts("198503152010011002", "Siti Aminah", "DISKOMINFO", job_class, None, status, sanction, grade)


def november(days=(), activity="100", target="100", behaviour="100", overtime="60"):
    return MonthFacts(2026, 11, Decimal(activity), Decimal(target), Decimal(behaviour), Decimal(overtime), days)


def late(day, band=None, early=None, kind=None):
    return DayFact(date(2026, 11, day), "late", band, early, kind)


def absent(day):
    return DayFact(date(2026, 11, day), "absent")


def excused(day, kind):
    return DayFact(date(2026, 11, day), kind, absence_kind=kind)


def tk_days(count):
    """TK (absent without notice) on the first `count` working days of November 2026 (the 1st is a Sunday)."""
    return [absent(d) for d in range(1, 31) if date(2026, 11, d).weekday() < 5][:count]


LATE_BANDS = [late(3, "TL2"), late(4, early="PSW1"), late(5, "TL4", early="PSW3")]
TWO_TK = [absent(9), absent(10)]
# A morning on official duty (dinas luar) justifies that day's late arrival.
LEAVE = [excused(3, "leave"), excused(4, "sick"), late(5, "TL3", kind="duty")]
ONE_TL2 = [late(3, "TL2")]


def D(amount):
    return ("discipline", amount)


def C(amount):
    return ("component", amount)


# national: class 8 = Rp 4.200.000; kinerja 60% = 2.520.000, disiplin 40% = 1.680.000;
# deductions on the whole base; TK 3%; cap 100% (never more than earned).
NATIONAL_FULL = [C(2_520_000), C(1_680_000)]
# surabaya: class 8 = Rp 6.000.000; disiplin 30% = 1.800.000, aktivitas 45% = 2.700.000, lembur 5% = 300.000,
# skp 20% = 1.200.000; deductions on the disiplin share 1.800.000, capped at 50% of it = 900.000; TK 3%.
SURABAYA_FULL = [C(1_800_000), C(2_700_000), C(300_000), C(1_200_000)]
# banda_aceh: class 8 = Rp 3.000.000; kinerja 70% = 2.100.000, disiplin 30% = 900.000;
# deductions on the whole base, capped at 30% = 900.000; TK 3%.
BANDA_ACEH_FULL = [C(2_100_000), C(900_000)]
# banyuwangi: class 8 = Rp 4.000.000; disiplin 30% = 1.200.000, aktivitas 30% = 1.200.000, target 25% = 1.000.000,
# perilaku 15% = 600.000; deductions on 1.200.000 (TL1 1%, TL2 1.25%, TL3/TL4 2.5%), capped at 600.000; TK 4%.
BANYUWANGI_FULL = [C(1_200_000), C(1_200_000), C(1_000_000), C(600_000)]
# belitung_timur: class 8 = Rp 3.600.000; kinerja 60% = 2.160.000, disiplin 40% = 1.440.000;
# deductions on 1.440.000, capped at 60% = 864.000; TK 4%.
BELITUNG_FULL = [C(2_160_000), C(1_440_000)]

CASES = [
    # --- national
    # TL2 1% × 4.200.000 = 42.000; PSW1 0,5% = 21.000; TL4 2% = 84.000; PSW3 1,5% = 63.000; 4.200.000 − 210.000
    ("national", "late bands", staff(), november(LATE_BANDS),
     NATIONAL_FULL + [D(-42_000), D(-21_000), D(-84_000), D(-63_000)], 3_990_000),
    # 2 × 3% × 4.200.000 = 2 × 126.000; 4.200.000 − 252.000
    ("national", "absence", staff(), november(TWO_TK), NATIONAL_FULL + [D(-126_000)] * 2, 3_948_000),
    # light sanction, month 2: 30% × 4.200.000 = 1.260.000
    ("national", "sanction", staff(sanction=ActiveSanction("light", 2)), november(),
     NATIONAL_FULL + [("sanction", -1_260_000)], 2_940_000),
    # CPNS 80% × 4.200.000 = 3.360.000 → 2.016.000 + 1.344.000; TL2 1% × 3.360.000 = 33.600
    ("national", "cpns", staff("CPNS"), november(ONE_TL2), [C(2_016_000), C(1_344_000), D(-33_600)], 3_326_400),
    ("national", "leave", staff(), november(LEAVE), NATIONAL_FULL, 4_200_000),
    # activity 0: earned 0 + 1.680.000; 21 TK × 126.000 = 2.646.000 > earned → 966.000 back; gross 0
    ("national", "cap", staff(), november(tk_days(21), activity="0"),
     [C(0), C(1_680_000)] + [D(-126_000)] * 21 + [("discipline_cap", 966_000)], 0),
    # --- surabaya
    # TL2 1% × 1.800.000 = 18.000; PSW1 9.000; TL4 36.000; PSW3 27.000; 6.000.000 − 90.000
    ("surabaya", "late bands", staff(), november(LATE_BANDS),
     SURABAYA_FULL + [D(-18_000), D(-9_000), D(-36_000), D(-27_000)], 5_910_000),
    # 2 × 3% × 1.800.000 = 2 × 54.000
    ("surabaya", "absence", staff(), november(TWO_TK), SURABAYA_FULL + [D(-54_000)] * 2, 5_892_000),
    # medium sanction, month 1: 40% × 6.000.000 = 2.400.000
    ("surabaya", "sanction", staff(sanction=ActiveSanction("medium", 1)), november(),
     SURABAYA_FULL + [("sanction", -2_400_000)], 3_600_000),
    # CPNS base 4.800.000 → 1.440.000 / 2.160.000 / 240.000 / 960.000; TL2 1% × 1.440.000 = 14.400
    ("surabaya", "cpns", staff("CPNS"), november(ONE_TL2),
     [C(1_440_000), C(2_160_000), C(240_000), C(960_000), D(-14_400)], 4_785_600),
    ("surabaya", "leave", staff(), november(LEAVE), SURABAYA_FULL, 6_000_000),
    # aktivitas 10% × 2.700.000 = 270.000; lembur 0 h → minimum 76% × 300.000 = 228.000; skp 10% × 1.200.000
    # = 120.000; 18 TK × 54.000 = 972.000 > cap 900.000 → 72.000 back; 2.418.000 − 900.000
    ("surabaya", "cap", staff(), november(tk_days(18), activity="10", target="10", overtime="0"),
     [C(1_800_000), C(270_000), C(228_000), C(120_000)] + [D(-54_000)] * 18 + [("discipline_cap", 72_000)],
     1_518_000),
    # --- banda_aceh
    # TL2 1% × 3.000.000 = 30.000; PSW1 15.000; TL4 60.000; PSW3 45.000; 3.000.000 − 150.000
    ("banda_aceh", "late bands", staff(), november(LATE_BANDS),
     BANDA_ACEH_FULL + [D(-30_000), D(-15_000), D(-60_000), D(-45_000)], 2_850_000),
    # 2 × 3% × 3.000.000 = 2 × 90.000
    ("banda_aceh", "absence", staff(), november(TWO_TK), BANDA_ACEH_FULL + [D(-90_000)] * 2, 2_820_000),
    # heavy sanction, month 3: 80% × 3.000.000 = 2.400.000; 600.000 < Rp 1.200.000 but a sanction bars the minimum
    ("banda_aceh", "sanction", staff(sanction=ActiveSanction("heavy", 3)), november(),
     BANDA_ACEH_FULL + [("sanction", -2_400_000)], 600_000),
    # CPNS base 2.400.000 → 1.680.000 + 720.000; TL2 1% × 2.400.000 = 24.000
    ("banda_aceh", "cpns", staff("CPNS"), november(ONE_TL2), [C(1_680_000), C(720_000), D(-24_000)], 2_376_000),
    ("banda_aceh", "leave", staff(), november(LEAVE), BANDA_ACEH_FULL, 3_000_000),
    # 11 TK × 90.000 = 990.000 > cap 900.000 → 90.000 back; 3.000.000 − 900.000
    ("banda_aceh", "cap", staff(), november(tk_days(11)),
     BANDA_ACEH_FULL + [D(-90_000)] * 11 + [("discipline_cap", 90_000)], 2_100_000),
    # --- banyuwangi
    # TL2 1,25% × 1.200.000 = 15.000; PSW1 1% = 12.000; TL4 2,5% = 30.000; PSW3 2,5% = 30.000; 4.000.000 − 87.000
    ("banyuwangi", "late bands", staff(), november(LATE_BANDS),
     BANYUWANGI_FULL + [D(-15_000), D(-12_000), D(-30_000), D(-30_000)], 3_913_000),
    # 2 × 4% × 1.200.000 = 2 × 48.000
    ("banyuwangi", "absence", staff(), november(TWO_TK), BANYUWANGI_FULL + [D(-48_000)] * 2, 3_904_000),
    # dismissal: 100% × 4.000.000
    ("banyuwangi", "sanction", staff(sanction=ActiveSanction("dismissal", 1)), november(),
     BANYUWANGI_FULL + [("sanction", -4_000_000)], 0),
    # CPNS base 3.200.000 → 960.000 / 960.000 / 800.000 / 480.000; TL2 1,25% × 960.000 = 12.000
    ("banyuwangi", "cpns", staff("CPNS"), november(ONE_TL2),
     [C(960_000), C(960_000), C(800_000), C(480_000), D(-12_000)], 3_188_000),
    # leave, sick, duty free; but here permission (izin) costs 1% × 1.200.000 = 12.000
    ("banyuwangi", "leave", staff(), november(LEAVE + [excused(6, "permission")]),
     BANYUWANGI_FULL + [D(-12_000)], 3_988_000),
    # 15 TK × 48.000 = 720.000 > cap 600.000 → 120.000 back; 4.000.000 − 600.000
    ("banyuwangi", "cap", staff(), november(tk_days(15)),
     BANYUWANGI_FULL + [D(-48_000)] * 15 + [("discipline_cap", 120_000)], 3_400_000),
    # --- belitung_timur
    # TL2 1% × 1.440.000 = 14.400; PSW1 7.200; TL4 28.800; PSW3 21.600; 3.600.000 − 72.000
    ("belitung_timur", "late bands", staff(), november(LATE_BANDS),
     BELITUNG_FULL + [D(-14_400), D(-7_200), D(-28_800), D(-21_600)], 3_528_000),
    # 2 × 4% × 1.440.000 = 2 × 57.600
    ("belitung_timur", "absence", staff(), november(TWO_TK), BELITUNG_FULL + [D(-57_600)] * 2, 3_484_800),
    # light sanction in its 5th month: past the 3-month table, the last percent (40%) × 3.600.000 = 1.440.000
    ("belitung_timur", "sanction", staff(sanction=ActiveSanction("light", 5)), november(),
     BELITUNG_FULL + [("sanction", -1_440_000)], 2_160_000),
    # CPNS base 2.880.000 → 1.728.000 + 1.152.000; TL2 1% × 1.152.000 = 11.520
    ("belitung_timur", "cpns", staff("CPNS"), november(ONE_TL2), [C(1_728_000), C(1_152_000), D(-11_520)], 2_868_480),
    ("belitung_timur", "leave", staff(), november(LEAVE), BELITUNG_FULL, 3_600_000),
    # 16 TK × 57.600 = 921.600 > cap 864.000 → 57.600 back; 3.600.000 − 864.000
    ("belitung_timur", "cap", staff(), november(tk_days(16)),
     BELITUNG_FULL + [D(-57_600)] * 16 + [("discipline_cap", 57_600)], 2_736_000),
]


@pytest.mark.parametrize(
    "region, case, employee, month, earning_lines, gross", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES]
)
def test_earning_lines_and_gross(preset, region, case, employee, month, earning_lines, gross):
    payslip = compute_tpp(employee, month, preset(region))

    assert [(line.code, line.amount) for line in payslip.lines if line.code in EARNING_CODES] == earning_lines
    assert payslip.gross == gross
    assert sum(line.amount for line in payslip.lines) == payslip.net


ROUNDING_CASES = [
    # kinerja 2.520.000 × 87,333% = 2.200.791,6; + 1.680.000 − TL1 0,5% × 4.200.000 (21.000) = 3.859.791,6
    # → gross 3.859.792 (the kinerja line takes the extra rupiah); PPh 21 5% = 192.989,6 → 192.990;
    # BPJS 1% = 38.597,92 → 38.598; net 3.859.792 − 192.990 − 38.598 = 3.628.204 (whole rupiah, half up)
    ("national", staff(grade="III/b"), november([late(3, "TL1")], activity="87.333"),
     [C(2_200_792), C(1_680_000), D(-21_000), ("tax", -192_990), ("contribution", -38_598)], 3_628_204),
    # aktivitas 2.700.000 × 83,33% = 2.249.910; lembur 45 h ÷ 60 h = 75% → minimum 76% × 300.000 = 228.000;
    # skp 1.200.000 × 91,7% = 1.100.400; TL1 0,5% × 1.800.000 = 9.000; gross 5.369.310;
    # PPh 21 5% = 268.465,5 → 268.466; BPJS 53.693,1 → 53.693; 5.047.151 → half up to Rp 100: 5.047.200 (+49)
    ("surabaya", staff(grade="III/c"), november([late(3, "TL1")], activity="83.33", target="91.7", overtime="45"),
     [C(1_800_000), C(2_249_910), C(228_000), C(1_100_400), D(-9_000),
      ("tax", -268_466), ("contribution", -53_693), ("rounding", 49)], 5_047_200),
    # kinerja 2.100.000 × 77,77% = 1.633.170; + 900.000 − TL1 0,5% × 3.000.000 (15.000) = 2.518.170;
    # PPh 21 5% = 125.908,5 → down 125.908; BPJS 25.181,7 → down 25.181; 2.367.081 → down to Rp 1.000: −81
    ("banda_aceh", staff(grade="III/a"), november([late(3, "TL1")], activity="77.77"),
     [C(1_633_170), C(900_000), D(-15_000), ("tax", -125_908), ("contribution", -25_181), ("rounding", -81)],
     2_367_000),
    # aktivitas 1.200.000 × 66,66667% = 800.000,04; target 1.000.000 × 88,88889% = 888.888,9;
    # perilaku 600.000 × 91,11111% = 546.666,66; TL1 1% × 1.200.000 = 12.000; exact 3.423.555,60 → down 3.423.555;
    # floors add up to 3.423.554, the largest fraction (target ,9) takes the last rupiah;
    # PPh 21 15% = 513.533,25 → 513.533; BPJS 34.235,55 → 34.235; net 3.423.555 − 513.533 − 34.235 = 2.875.787
    ("banyuwangi", staff(grade="IV/a"),
     november([late(3, "TL1")], activity="66.66667", target="88.88889", behaviour="91.11111"),
     [C(1_200_000), C(800_000), C(888_889), C(546_666), D(-12_000), ("tax", -513_533), ("contribution", -34_235)],
     2_875_787),
    # kinerja 2.160.000 × 93,57% = 2.021.112; + 1.440.000 − PSW2 1% × 1.440.000 (14.400) = 3.446.712;
    # PPh 21 5% = 172.335,6 → 172.336; BPJS 34.467,12 → 34.467; 3.239.909 → half up to Rp 100: 3.239.900 (−9)
    ("belitung_timur", staff(grade="III/d"), november([late(3, early="PSW2")], activity="93.57"),
     [C(2_021_112), C(1_440_000), D(-14_400), ("tax", -172_336), ("contribution", -34_467), ("rounding", -9)],
     3_239_900),
]


@pytest.mark.parametrize("region, employee, month, lines, net", ROUNDING_CASES, ids=[c[0] for c in ROUNDING_CASES])
def test_rounding_tax_and_contributions(preset, region, employee, month, lines, net):
    payslip = compute_tpp(employee, month, preset(region))

    assert [(line.code, line.amount) for line in payslip.lines] == lines
    assert payslip.net == net
    assert sum(line.amount for line in payslip.lines) == net
    assert sum(line.amount for line in payslip.lines if line.code in EARNING_CODES) == payslip.gross


# Banda Aceh's minimum (seed 002: "the lowest bonus for staff is Rp1,2 juta"): a floor on the GROSS for job
# classes 1-7 with no sanction and an activity score of at least 50. Class 1 = Rp 1.200.000: kinerja 70% =
# 840.000, disiplin 30% = 360.000; class 7 = Rp 2.700.000; class 8 = Rp 3.000.000. BPJS 1% of the gross is
# withheld after the floor, so the net of a floored gross is below Rp 1.200.000.
@pytest.mark.parametrize("case, employee, month, top_up, gross", [
    # earned exactly 1.200.000: nothing to top up
    ("at the floor", staff(job_class=1), november(activity="100"), None, 1_200_000),
    # TL1 0,5% x 1.200.000 = 6.000 below the floor: topped up by 6.000
    ("one rupiah band below", staff(job_class=1), november([late(3, "TL1")], activity="100"), 6_000, 1_200_000),
    # activity exactly 50: 420.000 + 360.000 = 780.000, topped up by 420.000
    ("at the activity threshold", staff(job_class=1), november(activity="50"), 420_000, 1_200_000),
    # activity 49,99: 840.000 x 49,99% = 419.916 + 360.000 = 779.916, not topped up
    ("just under the activity threshold", staff(job_class=1), november(activity="49.99"), None, 779_916),
    # class 7, activity 50, ten TK days: 945.000 + 810.000 - 810.000 (capped at 30% of 2.700.000) = 945.000 -> +255.000
    ("highest staff class", staff(job_class=7), november(tk_days(10), activity="50"), 255_000, 1_200_000),
    # class 8 the same month: 1.050.000 + 900.000 - 900.000 = 1.050.000, not staff level: not topped up
    ("above staff level", staff(job_class=8), november(tk_days(10), activity="50"), None, 1_050_000),
])
def test_banda_aceh_minimum_is_a_gross_floor_for_staff_level(preset, case, employee, month, top_up, gross):
    payslip = compute_tpp(employee, month, preset("banda_aceh"))

    minimum = [line.amount for line in payslip.lines if line.code == "minimum"]
    assert minimum == ([] if top_up is None else [top_up]) and payslip.gross == gross
    if top_up is not None:
        # BPJS 1% = 12.000 withheld after the floor; rounded down to Rp 1.000: the net is 1.188.000
        assert payslip.net == 1_188_000
