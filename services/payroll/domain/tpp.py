"""TPP (*Tambahan Penghasilan Pegawai*, the monthly performance allowance) of one employee for one month.

Order of operations, all in `Decimal` until the last step:

1. **Base**: the position's override amount if the policy has one, else the amount of the job class
   (*kelas jabatan* 1–17).
2. **CPNS factor**: a CPNS (civil-servant candidate) receives `cpns_percent` (80%) of the base.
3. **Components**: the base is split by the components' weights (e.g. kinerja 60 / disiplin 40).
4. **Scores**: each component is paid in proportion to its score, capped at 100% (activity score,
   target achievement, behaviour score, overtime score); a `discipline` component is paid in full here
   and loses its deductions in step 5.
5. **Discipline deductions**: one line per late band (TL1–TL4), early-leave band (PSW1–PSW4), day absent
   without notice (TK, *tanpa keterangan*) and day of a deducting absence kind, each a percent of the
   configured base (`total`: the base after the CPNS factor; `discipline_component`: the discipline
   components' share). A day justified by an absence kind (leave, sick, duty, permission) deducts only
   that kind's rate, which is none unless the policy lists it. The month's deductions are capped at
   `monthly_cap` percent of that base and never exceed what was earned: the excess comes back as a line.
6. **Sanction**: an active disciplinary sanction cuts its percent (by level and month of the sanction)
   of what remains.
7. **Minimum**: an employee of job class `minimum.max_job_class` or below with no active sanction and an
   activity score of at least `minimum.min_activity_score` is topped up to a gross of `minimum.amount`. Lines 3–7 add up to the **gross**.
8. **Tax and contributions**: withheld from the gross, each rounded by the policy's mode to whole rupiah.
9. **Adjustments**: corrections of earlier, already approved months, as they come.
10. **Rounding**: lines 3–7 are rounded to whole rupiah by the largest-remainder method so that they add
    up exactly to the gross (the exact sum rounded by the policy's mode); the net is rounded to the
    policy's multiple of rupiah with a `rounding` line for the difference. The lines always add up to
    the net exactly.

Every line carries the rule it applied (with the figures, the amounts inside shown rounded) and the
evidence it applied it to. Money in the output is integer rupiah.
"""

import functools
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Sequence

from .policy import ABSENCE_KINDS, Component, PayrollPolicy

EARNING_CODES = ("component", "discipline", "discipline_cap", "sanction", "minimum")
WITHHOLDING_CODES = ("tax", "contribution")
MONTH_NAMES = (
    "", "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)
_BAND_NAMES = {"TL": "late arrival", "PSW": "early leave"}
_SCORE_LABELS = {
    "activity_score": "activity score",
    "target": "target achievement",
    "behaviour": "behaviour score",
    "overtime": "overtime score",
}
# Who must act when the month has no figure for a component (said on the payslip, counted in the run).
MISSING_FIGURE_ACTIONS = {
    "target": "the supervisor sets the month's SKP targets and assesses their achievement "
              "(PUT /targets/<employee_id>/<yyyy-mm> and .../assessment in scoring)",
    "behaviour": "the supervisor rates the month's BerAKHLAK behaviour (PUT /behaviour/<employee_id>/<yyyy-mm> "
                 "in scoring)",
    "overtime": "scoring re-scores the month with its overtime hours",
    "activity_score": "scoring scores the month",
}
_HUNDRED = Decimal(100)


class EmployeeStatus(StrEnum):
    """PNS (civil servant), PPPK (contract civil servant) or CPNS (civil-servant candidate)."""

    PNS = "PNS"
    PPPK = "PPPK"
    CPNS = "CPNS"


@dataclass(frozen=True)
class ActiveSanction:
    """A disciplinary sanction in force: `level` (light/medium/heavy/dismissal), `month_index` 1-based."""

    level: str
    month_index: int


def sanction_month(start_year: int, start_month: int, months: int, year: int, month: int) -> int | None:
    """Which month of its term a sanction of `months` months from (start_year, start_month) is in during
    (year, month), 1-based; None when it is not in force then."""
    index = (year - start_year) * 12 + (month - start_month) + 1
    return index if 1 <= index <= months else None


def sanction_percent(level: str, month_index: int, policy: PayrollPolicy) -> Decimal:
    """The percent a sanction of `level` cuts in its `month_index`-th month; a sanction running longer than its
    table keeps the last month's percent."""
    percents = policy.sanctions[level]
    return percents[min(month_index, len(percents)) - 1]


@dataclass(frozen=True)
class EmployeeFacts:
    """Who is paid: identity, kelas jabatan (job class), status, sanction and grade (golongan, e.g. "III/a") for tax.

    `grade` is None when the golongan is not known (the directory does not carry it): no tax is withheld
    then, and the tax line says so.
    """

    employee_id: str
    name: str
    unit_id: str
    job_class: int
    position_id: str | None
    status: str
    active_sanction: ActiveSanction | None
    grade: str | None


@dataclass(frozen=True)
class DayFact:
    """One attendance day as payroll needs it (status vocabulary of the shared attendance-day shape)."""

    local_date: date
    status: str
    late_band: str | None = None
    early_band: str | None = None
    absence_kind: str | None = None


@dataclass(frozen=True)
class Adjustment:
    """A signed amount carried into this month, e.g. a correction of an earlier, approved month."""

    description: str
    amount: int


@dataclass(frozen=True)
class MonthFacts:
    """The month's scores (percent, Decimal), overtime hours, attendance days and carried adjustments.

    `credited_minutes` and `effective_minutes` are the activity score's numerator and denominator as scoring
    sent them (None for a month scored before payroll kept them): the exact ratio a policy may price on."""

    year: int
    month: int
    activity_score: Decimal
    target_score: Decimal | None = None
    behaviour_score: Decimal | None = None
    overtime_hours: Decimal | None = None
    days: Sequence[DayFact] = ()
    adjustments: Sequence[Adjustment] = ()
    credited_minutes: int | None = None
    effective_minutes: int | None = None


@dataclass(frozen=True)
class MissingFigure:
    """A component priced without its figure for the month: what is missing and who must act."""

    component: str
    source: str
    action: str


@dataclass(frozen=True)
class PayslipLine:
    """One explained amount: `code` is its kind (see EARNING_CODES), `rule` the arithmetic, `evidence` the facts."""

    code: str
    description: str
    rule: str
    evidence: str
    amount: int


@dataclass(frozen=True)
class Payslip:
    """A month's TPP: earning lines add up to `gross`, all lines add up to `net`."""

    employee_id: str
    name: str
    unit_id: str
    year: int
    month: int
    gross: int
    lines: tuple[PayslipLine, ...]
    net: int


@dataclass(frozen=True)
class _Draft:
    """A line before rounding: `formula` becomes the rule once the amount is known."""

    code: str
    description: str
    formula: str
    evidence: str
    exact: Decimal
    signed: bool = False

    def final(self, amount: int) -> PayslipLine:
        shown = format_rupiah(amount if self.signed else abs(amount))
        return PayslipLine(self.code, self.description, f"{self.formula} = {shown}", self.evidence, amount)


@functools.lru_cache(maxsize=4096)  # a run repeats the same bases and rates across thousands of payslips
def format_rupiah(amount: int | Decimal) -> str:
    """Rupiah with the Indonesian thousands separator: 4200000 -> "Rp 4.200.000" (Decimals shown rounded)."""
    whole = amount if isinstance(amount, int) else int(Decimal(amount).quantize(Decimal(1), ROUND_HALF_UP))
    digits = f"{abs(whole):,}".replace(",", ".")
    return f"-Rp {digits}" if whole < 0 else f"Rp {digits}"


@functools.lru_cache(maxsize=1024)
def format_percent(value: Decimal) -> str:
    """A percent with the Indonesian decimal comma and at most two decimals: Decimal("0.50") -> "0,5%"."""
    return _number(value) + "%"


def _number(value: Decimal) -> str:
    shown = format(Decimal(value).quantize(Decimal("0.01"), ROUND_HALF_UP).normalize(), "f")
    return shown.replace(".", ",")


def format_date(day: date) -> str:
    """A local date as written on the payslip: "3 November 2026"."""
    return f"{day.day} {MONTH_NAMES[day.month]} {day.year}"


def round_money(amount: Decimal, mode: str, unit: int = 1) -> int:
    """Round to a multiple of `unit` rupiah, `half_up` or `down` (toward zero)."""
    rounding = ROUND_HALF_UP if mode == "half_up" else ROUND_DOWN
    return int((Decimal(amount) / unit).quantize(Decimal(1), rounding)) * unit


def compute_tpp(employee: EmployeeFacts, month: MonthFacts, policy: PayrollPolicy,
                memo: dict | None = None) -> Payslip:
    """Compute one employee's payslip for one month (order of operations in the module docstring). A run prices
    thousands of payslips with one policy: `memo`, a dict kept across them, reuses the lines of a day already
    charged against the same base (the same day facts give the same lines), and changes no result."""
    base, base_text = _base(employee, policy)
    earning = [_component(c, base, base_text, month, policy) for c in policy.components]
    earned = _total(earning)

    deduction_base, deduction_base_text = _deduction_base(base, policy)
    deductions = _discipline(month.days, deduction_base, deduction_base_text, policy, memo)
    earning += deductions + _cap(deductions, deduction_base, earned, policy)
    if employee.active_sanction:
        earning.append(_sanction(employee.active_sanction, _total(earning), policy))
    earning += _minimum(employee, month, _total(earning), policy)

    gross = round_money(_total(earning), policy.rounding.mode)
    lines = [d.final(a) for d, a in zip(earning, _apportion([d.exact for d in earning], gross))]
    later = _withholdings(employee, gross, policy) + [_adjustment(a) for a in month.adjustments]
    lines += [d.final(round_money(d.exact, policy.rounding.mode)) for d in later]

    subtotal = sum(line.amount for line in lines)
    net = round_money(Decimal(subtotal), policy.rounding.mode, policy.rounding.unit)
    if net != subtotal:
        lines.append(_rounding(subtotal, net, policy).final(net - subtotal))
    return Payslip(
        employee.employee_id, employee.name, employee.unit_id, month.year, month.month, gross, tuple(lines), net
    )


def _total(drafts: list[_Draft]) -> Decimal:
    return sum((d.exact for d in drafts), Decimal(0))


def _apportion(exacts: list[Decimal], target: int) -> list[int]:
    """Largest remainder: floor every amount, then add 1 to the largest fractions until the sum is `target`."""
    floors = [int(x.to_integral_value(ROUND_FLOOR)) for x in exacts]
    by_fraction = sorted(range(len(exacts)), key=lambda i: (floors[i] - exacts[i], i))
    bumped = set(by_fraction[: target - sum(floors)])
    return [f + 1 if i in bumped else f for i, f in enumerate(floors)]


def _base(employee: EmployeeFacts, policy: PayrollPolicy) -> tuple[Decimal, str]:
    if employee.position_id in policy.position_overrides:
        amount, source = policy.position_overrides[employee.position_id], f"position {employee.position_id}"
    elif employee.job_class in policy.base_amounts:
        amount, source = policy.base_amounts[employee.job_class], f"job class {employee.job_class}"
    else:
        raise ValueError(f"{employee.employee_id}: no TPP base amount for job class {employee.job_class!r}")
    if employee.status != EmployeeStatus.CPNS:
        return Decimal(amount), f"{format_rupiah(amount)} ({source})"
    base = amount * policy.cpns_percent / _HUNDRED
    factor = f"CPNS {format_percent(policy.cpns_percent)}"
    return base, f"{format_rupiah(base)} ({source} {format_rupiah(amount)} × {factor})"


def _component(
    component: Component, base: Decimal, base_text: str, month: MonthFacts, policy: PayrollPolicy
) -> _Draft:
    share = base * component.weight / _HUNDRED
    formula = f"{component.name}: {format_percent(component.weight)} of {base_text}"
    if component.source == "discipline":
        amount, formula = _stepped(share, formula, policy.precision.component, policy)
        return _Draft("component", component.name, formula, "paid in full before discipline deductions", amount)
    label = _SCORE_LABELS[component.source]
    if _figure(component, month) is None:
        paid = component.when_missing_percent
        formula += f" × {format_percent(paid)} paid while the {label} is missing"
        evidence = (f"no {label} for {MONTH_NAMES[month.month]} {month.year}: "
                    f"{MISSING_FIGURE_ACTIONS[component.source]}; a later figure is paid as a correction")
        amount, formula = _stepped(share * paid / _HUNDRED, formula, policy.precision.component, policy)
        return _Draft("component", component.name, formula, evidence, amount)
    exact, evidence = _score(component, month, policy)
    score = _score_step(exact, component, policy)
    paid = min(max(score, Decimal(0)), _HUNDRED)
    formula += f" × {label} {format_percent(paid)}"
    if score != exact:
        how = "half up" if policy.rounding.mode == "half_up" else "down"
        formula += f" (from {_exact_percent(exact)}, rounded {how} to a step of {format_percent(policy.precision.score)})"
    elif exact != _figure(component, month) and component.source == "activity_score":
        formula += f" (exact: {month.credited_minutes:,} ÷ {month.effective_minutes:,} min)".replace(",", ".")
    if paid != score:
        formula += f" (capped from {format_percent(score)})"
    amount, formula = _stepped(share * paid / _HUNDRED, formula, policy.precision.component, policy)
    return _Draft("component", component.name, formula, evidence, amount)


def _score_step(score: Decimal, component: Component, policy: PayrollPolicy) -> Decimal:
    """A score at the policy's step (`precision.score`); the overtime score, computed from hours, is left exact."""
    if component.source == "overtime" or policy.precision.score is None:
        return score
    rounding = ROUND_HALF_UP if policy.rounding.mode == "half_up" else ROUND_DOWN
    return Decimal(score).quantize(policy.precision.score, rounding)


def _exact_percent(value: Decimal) -> str:
    shown = Decimal(value).quantize(Decimal("0.000001"), ROUND_HALF_UP) if -Decimal(value).as_tuple().exponent > 6 \
        else Decimal(value)
    return format(shown.normalize(), "f").replace(".", ",") + ("…%" if shown != value else "%")


def minutes_ratio(month: MonthFacts) -> Decimal | None:
    """The activity score as credited ÷ effective minutes × 100, unrounded (28 significant digits), when scoring sent
    the minutes and the published score is that ratio; None otherwise (no minutes, no effective minutes, or a score
    scoring capped below the ratio: the cap is then the exact figure)."""
    credited, effective = month.credited_minutes, month.effective_minutes
    if credited is None or not effective:
        return None
    ratio = Decimal(credited) * _HUNDRED / Decimal(effective)
    if month.activity_score < ratio.quantize(Decimal("0.01"), ROUND_HALF_UP):
        return None
    return ratio


def _stepped(amount: Decimal, formula: str, step: int, policy: PayrollPolicy) -> tuple[Decimal, str]:
    """A line's amount rounded to the policy's multiple of rupiah for its kind (0: exact), said in its rule."""
    if not step:
        return amount, formula
    how = "half up" if policy.rounding.mode == "half_up" else "down"
    return (Decimal(round_money(amount, policy.rounding.mode, step)),
            f"{formula} ({format_rupiah(amount)} rounded {how} to a multiple of {format_rupiah(step)})")


def _figure(component: Component, month: MonthFacts) -> Decimal | None:
    return {
        "activity_score": month.activity_score,
        "target": month.target_score,
        "behaviour": month.behaviour_score,
        "overtime": month.overtime_hours,
    }[component.source]


def missing_figures(month: MonthFacts, policy: PayrollPolicy) -> list[MissingFigure]:
    """The components the month has no figure for (each paid `when_missing_percent` of its share)."""
    return [MissingFigure(c.name, c.source, MISSING_FIGURE_ACTIONS[c.source]) for c in policy.components
            if c.source != "discipline" and _figure(c, month) is None]


def _score(component: Component, month: MonthFacts, policy: PayrollPolicy) -> tuple[Decimal, str]:
    period = f"{MONTH_NAMES[month.month]} {month.year}"
    value = _figure(component, month)
    if component.source == "activity_score" and policy.precision.minutes and minutes_ratio(month) is not None:
        return minutes_ratio(month), (f"activity score {format_percent(value)} in {period}: "
                                      f"{month.credited_minutes} credited ÷ {month.effective_minutes} effective min")
    if component.source != "overtime":
        return value, f"{_SCORE_LABELS[component.source]} {format_percent(value)} in {period}"
    overtime = policy.overtime
    score = max(min(value / overtime.full_hours * _HUNDRED, _HUNDRED), overtime.minimum_percent)
    return score, (
        f"overtime {_number(value)} h in {period}; {_number(overtime.full_hours)} h or more = 100%, "
        f"minimum {format_percent(overtime.minimum_percent)}"
    )


def _deduction_base(base: Decimal, policy: PayrollPolicy) -> tuple[Decimal, str]:
    if policy.discipline.deduct_from == "total":
        return base, format_rupiah(base)
    components = [c for c in policy.components if c.source == "discipline"]
    amount = base * sum((c.weight for c in components), Decimal(0)) / _HUNDRED
    return amount, f"{format_rupiah(amount)} ({', '.join(c.name for c in components)})"


def _discipline(days: Sequence[DayFact], base: Decimal, base_text: str, policy: PayrollPolicy,
                memo: dict | None = None) -> list[_Draft]:
    drafts = []
    for day in sorted(days, key=lambda d: d.local_date):
        if memo is None:
            drafts += _day_charges(day, base, base_text, policy)
            continue
        key = (day, base, base_text)
        charged = memo.get(key)
        if charged is None:
            charged = memo[key] = _day_charges(day, base, base_text, policy)
        drafts += charged
    return drafts


def _day_charges(day: DayFact, base: Decimal, base_text: str, policy: PayrollPolicy) -> list[_Draft]:
    """The deduction lines of one day (none for most days)."""
    rules = policy.discipline
    drafts = []
    kind = day.absence_kind or (day.status if day.status in ABSENCE_KINDS else None)
    if kind:
        charges = [(kind, f"{kind} day", rules.absence_rates.get(kind, Decimal(0)))]
    elif day.status == "absent":
        charges = [("TK", "TK absent without notice", rules.absent_per_day)]
    else:
        charges = [
            (band, f"{band} {_BAND_NAMES[band.rstrip('1234')]}", rules.band_rates[band])
            for band in (day.late_band, day.early_band)
            if band
        ]
    charges = [charge for charge in charges if charge[2]]
    evidence = _day_evidence(day) if charges else ""  # most days deduct nothing: skip their evidence text
    for label, description, rate in charges:
        if rate:
            formula = f"{label} on {format_date(day.local_date)}: {format_percent(rate)} of {base_text}"
            amount, formula = _stepped(-base * rate / _HUNDRED, formula, policy.precision.deduction, policy)
            drafts.append(_Draft("discipline", description, formula, evidence, amount))
    return drafts


def _day_evidence(day: DayFact) -> str:
    facts = [f"status {day.status}"]
    facts += [f"{name} {value}" for name, value in (
        ("late band", day.late_band), ("early band", day.early_band), ("absence kind", day.absence_kind)
    ) if value]
    return f"attendance {day.local_date.isoformat()}: " + ", ".join(facts)


def _cap(deductions: list[_Draft], base: Decimal, earned: Decimal, policy: PayrollPolicy) -> list[_Draft]:
    deducted = -_total(deductions)
    cap = base * policy.discipline.monthly_cap / _HUNDRED
    limit = min(cap, earned)
    if deducted <= limit:
        return []
    if cap <= earned:
        limit_text = f"{format_percent(policy.discipline.monthly_cap)} of {format_rupiah(base)} ({format_rupiah(cap)})"
    else:
        limit_text = f"the earned {format_rupiah(earned)}"
    formula = f"discipline deductions {format_rupiah(deducted)} capped at {limit_text}: returned"
    evidence = f"{len(deductions)} deduction lines this month"
    return [_Draft("discipline_cap", "discipline deduction cap", formula, evidence, deducted - limit)]


def _sanction(sanction: ActiveSanction, remaining: Decimal, policy: PayrollPolicy) -> _Draft:
    percent = sanction_percent(sanction.level, sanction.month_index, policy)
    formula = (
        f"{sanction.level} sanction, month {sanction.month_index}: "
        f"{format_percent(percent)} of {format_rupiah(remaining)}"
    )
    evidence = f"active disciplinary sanction: {sanction.level}, month {sanction.month_index} of its term"
    cut = -remaining * percent / _HUNDRED
    return _Draft("sanction", f"{sanction.level} disciplinary sanction", formula, evidence, cut)


def _minimum(employee: EmployeeFacts, month: MonthFacts, earned: Decimal, policy: PayrollPolicy) -> list[_Draft]:
    minimum = policy.minimum
    qualifies = (employee.active_sanction is None and month.activity_score >= minimum.min_activity_score
                 and employee.job_class <= minimum.max_job_class)
    if not qualifies or earned >= minimum.amount:
        return []
    formula = f"minimum TPP {format_rupiah(minimum.amount)} (gross) − earned {format_rupiah(earned)}"
    evidence = (
        f"no active sanction; activity score {format_percent(month.activity_score)} "
        f"≥ {format_percent(minimum.min_activity_score)}; job class {employee.job_class} ≤ {minimum.max_job_class}"
    )
    return [_Draft("minimum", "top-up to the minimum TPP", formula, evidence, minimum.amount - earned)]


def _withholdings(employee: EmployeeFacts, gross: int, policy: PayrollPolicy) -> list[_Draft]:
    drafts = []
    if policy.tax.percent_by_grade:
        if employee.grade is None:
            percent, evidence = Decimal(0), "grade (golongan) unknown: nothing withheld until it is recorded"
        else:
            percent, evidence = _tax_percent(employee.grade, policy), f"grade {employee.grade}"
        formula = f"{policy.tax.name} {format_percent(percent)} of {format_rupiah(gross)}"
        drafts.append(_Draft("tax", policy.tax.name, formula, evidence, -gross * percent / _HUNDRED))
    for contribution in policy.contributions:
        base = min(gross, contribution.ceiling) if contribution.ceiling else gross
        formula = f"{contribution.name} {format_percent(contribution.percent)} of {format_rupiah(base)}"
        evidence = f"gross {format_rupiah(gross)}" + (
            f", ceiling {format_rupiah(contribution.ceiling)}" if contribution.ceiling else ""
        )
        withheld = -base * contribution.percent / _HUNDRED
        drafts.append(_Draft("contribution", contribution.name, formula, evidence, withheld))
    return drafts


def _tax_percent(grade: str, policy: PayrollPolicy) -> Decimal:
    """The rate of the exact grade ("III/a") or else of its golongan ("III")."""
    rates = policy.tax.percent_by_grade
    for key in (grade, grade.split("/")[0]):
        if key in rates:
            return rates[key]
    raise ValueError(f"no {policy.tax.name} rate for grade {grade!r}")


def _adjustment(adjustment: Adjustment) -> _Draft:
    return _Draft(
        "adjustment", adjustment.description, adjustment.description,
        "carried from an approved earlier run", Decimal(adjustment.amount), signed=True,
    )


def _rounding(subtotal: int, net: int, policy: PayrollPolicy) -> _Draft:
    how = "half up" if policy.rounding.mode == "half_up" else "down"
    formula = (
        f"net {format_rupiah(subtotal)} rounded {how} to a multiple of {format_rupiah(policy.rounding.unit)}"
        f" ({format_rupiah(net)}): difference"
    )
    return _Draft("rounding", "rounding", formula, "policy rounding", Decimal(net - subtotal), signed=True)
