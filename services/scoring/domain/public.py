"""Public, anonymous aggregates per unit, with small groups suppressed."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Sequence

from .policy import PERMENPANRB_6_2022, ScoringPolicy
from .vocabulary import MATRIX_PREDICATES, PP30_PREDICATES

CENT = Decimal("0.01")


@dataclass(frozen=True)
class StaffResult:
    """One staff member's month in a unit, without name or NIP; None where not yet scored."""

    unit_id: str
    predicate: str | None
    activity_score: Decimal | None
    discipline_score: Decimal | None


@dataclass(frozen=True)
class PublicCount:
    """A published count: `value` None when suppressed, `text` then "<5" (small) or "≥5" (hidden alongside one)."""

    value: int | None
    text: str


@dataclass(frozen=True)
class PublicUnitAggregate:
    """What the public sees of a unit: staff count, predicate distribution and average scores."""

    unit_id: str
    staff: PublicCount
    predicates: tuple[tuple[str, PublicCount], ...]
    average_activity_score: Decimal | None
    average_discipline_score: Decimal | None


def public_aggregates(results: Sequence[StaffResult], policy: ScoringPolicy) -> tuple[PublicUnitAggregate, ...]:
    """Aggregate staff results per unit, suppressing counts and averages of groups below the policy threshold."""
    by_unit: dict[str, list[StaffResult]] = {}
    for result in results:
        by_unit.setdefault(result.unit_id, []).append(result)
    return tuple(_unit(unit_id, by_unit[unit_id], policy) for unit_id in sorted(by_unit))


def _unit(unit_id: str, staff: list[StaffResult], policy: ScoringPolicy) -> PublicUnitAggregate:
    k = policy.public_min_group
    known = MATRIX_PREDICATES if policy.predicate.method == PERMENPANRB_6_2022 else PP30_PREDICATES
    rated = [s.predicate for s in staff if s.predicate is not None]
    names = list(known) + sorted(set(rated) - set(known))
    counts = {name: rated.count(name) for name in names}
    if len(staff) < k:
        hidden = PublicCount(None, f"<{k}")
        return PublicUnitAggregate(unit_id, hidden, tuple((name, hidden) for name in names), None, None)
    shown = _suppress(counts, k)
    return PublicUnitAggregate(
        unit_id=unit_id,
        staff=PublicCount(len(staff), str(len(staff))),
        predicates=tuple((name, shown[name]) for name in names),
        average_activity_score=_average([s.activity_score for s in staff], k),
        average_discipline_score=_average([s.discipline_score for s in staff], k),
    )


def _suppress(counts: dict[str, int], k: int) -> dict[str, PublicCount]:
    small = {name for name, n in counts.items() if 0 < n < k}
    companion: set[str] = set()
    if len(small) == 1:
        # A single hidden cell could be recovered from the total, so hide the next smallest one too.
        others = sorted((n, name) for name, n in counts.items() if n > 0 and name not in small)
        companion = {name for _, name in others[:1]}
    shown = {}
    for name, n in counts.items():
        if name in small:
            shown[name] = PublicCount(None, f"<{k}")
        elif name in companion:
            shown[name] = PublicCount(None, f"≥{k}")
        else:
            shown[name] = PublicCount(n, str(n))
    return shown


def _average(scores: list[Decimal | None], k: int) -> Decimal | None:
    present = [score for score in scores if score is not None]
    if len(present) < k:
        return None
    return (sum(present, Decimal(0)) / len(present)).quantize(CENT, rounding=ROUND_HALF_UP)
