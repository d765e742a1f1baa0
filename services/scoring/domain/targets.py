"""The month's target achievement (SKP): each target's output against what was realised, and the month's score.

A target is a monthly slice of the annual SKP (*Sasaran Kinerja Pegawai*): an output with a quantity, and
optionally a quality (percent) and a time (days). What was realised comes from the supervisor's assessment,
or, for the quantity of a target linked to a catalogue item, from the month's creditable entries of that item.
Each aspect scores realised ÷ target × 100 (time: target ÷ realised days × 100: faster is better), capped at
the policy's `aspect_cap`; a target scores the mean of its aspects; the month scores the weighted mean of its
targets. A month with no targets, or with a target not yet assessed, has no score: the reason says who must act.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Mapping, Sequence

CENT = Decimal("0.01")
_HUNDRED = Decimal(100)
SET_TARGETS = "the supervisor sets the month's SKP targets (PUT /targets/<employee_id>/<yyyy-mm>)"
ASSESS_TARGETS = "the supervisor assesses them (PUT /targets/<employee_id>/<yyyy-mm>/assessment)"


@dataclass(frozen=True)
class Target:
    """One monthly target and, once assessed, what was realised (None: not assessed)."""

    target_id: str
    output: str
    quantity: int
    output_unit: str
    weight: int = 1
    quality: Decimal | None = None
    time_days: int | None = None
    catalogue_item_id: str | None = None
    realised_quantity: int | None = None
    realised_quality: Decimal | None = None
    realised_days: int | None = None


@dataclass(frozen=True)
class TargetLine:
    """One target's achievement (None when not assessed) and how it was reached."""

    target_id: str
    output: str
    score: Decimal | None
    explanation: str


@dataclass(frozen=True)
class TargetAchievement:
    """The month's target score (None: missing, `reason` says why and who must act) and one line per target."""

    score: Decimal | None
    reason: str
    lines: tuple[TargetLine, ...]


def _round(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _aspect(name: str, realised: Decimal, target: Decimal, cap: Decimal, inverse: bool = False) -> tuple[Decimal, str]:
    ratio = target / realised if inverse else realised / target
    value = min(_round(ratio * _HUNDRED), cap)
    text = (f"{name} {target} ÷ {realised}" if inverse else f"{name} {realised} ÷ {target}") + f" = {value}%"
    return value, text + (f" (capped at {cap}%)" if value == cap and _round(ratio * _HUNDRED) > cap else "")


def target_line(target: Target, entry_quantities: Mapping[str, int], aspect_cap: Decimal) -> TargetLine:
    """Score one target: quantity from the assessment, else from the linked item's creditable entries."""
    realised = target.realised_quantity
    source = "assessed"
    if realised is None and target.catalogue_item_id is not None:
        realised, source = entry_quantities.get(target.catalogue_item_id, 0), (
            f"from creditable entries of {target.catalogue_item_id}")
    missing = []
    if realised is None:
        missing.append("quantity")
    if target.quality is not None and target.realised_quality is None:
        missing.append("quality")
    if target.time_days is not None and target.realised_days is None:
        missing.append("time")
    if missing:
        return TargetLine(target.target_id, target.output, None, f"not assessed: {', '.join(missing)}")
    aspects = [_aspect(f"quantity ({source})", Decimal(realised), Decimal(target.quantity), aspect_cap)]
    if target.quality is not None:
        aspects.append(_aspect("quality", Decimal(target.realised_quality), Decimal(target.quality), aspect_cap))
    if target.time_days is not None:
        aspects.append(_aspect("time", Decimal(max(target.realised_days, 1)), Decimal(target.time_days), aspect_cap,
                               inverse=True))
    score = _round(sum((value for value, _ in aspects), Decimal(0)) / len(aspects))
    explanation = "; ".join(text for _, text in aspects) + (f"; mean {score}%" if len(aspects) > 1 else "")
    return TargetLine(target.target_id, target.output, score, explanation)


def target_achievement(targets: Sequence[Target], entry_quantities: Mapping[str, int],
                       aspect_cap: Decimal) -> TargetAchievement:
    """The month's target score: the weighted mean of its targets' scores, or None with the reason."""
    if not targets:
        return TargetAchievement(None, f"no SKP targets for the month: {SET_TARGETS}", ())
    lines = tuple(target_line(t, entry_quantities, aspect_cap) for t in targets)
    waiting = [line.output for line, t in zip(lines, targets) if line.score is None]
    if waiting:
        return TargetAchievement(None, f"{len(waiting)} of {len(targets)} targets not yet assessed "
                                       f"({', '.join(waiting)}): {ASSESS_TARGETS}", lines)
    weights = sum(t.weight for t in targets)
    score = _round(sum((line.score * t.weight for line, t in zip(lines, targets)), Decimal(0)) / weights)
    return TargetAchievement(score, f"weighted mean of {len(targets)} targets = {score}%", lines)
