"""Staffing posture from workload analysis (ABK, *analisis beban kerja*) per unit and position."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Mapping, Sequence

from .policy import ScoringPolicy

CENT = Decimal("0.01")


@dataclass(frozen=True)
class WorkloadItem:
    """Approved work of one position in the period: a catalogue time norm (norma waktu, minutes) × volume."""

    unit_id: str
    position_id: str
    norm_minutes: int
    volume: int


@dataclass(frozen=True)
class PostureLine:
    """Posture of one position (or of the whole unit when `position_id` is None); `efficiency` None = nobody."""

    unit_id: str
    position_id: str | None
    workload_minutes: int
    effective_minutes_per_person: Decimal
    staff_present: int
    staff_needed: Decimal
    efficiency: Decimal | None
    band: str


def effective_minutes_for_period(period_months: int, policy: ScoringPolicy) -> Decimal:
    """One person's effective working minutes in a period of whole months, pro rata to the yearly figure."""
    if period_months < 1:
        raise ValueError("period_months must be at least 1")
    return _round(Decimal(policy.effective_minutes_per_year) * period_months / 12)


def staffing_posture(
    workloads: Sequence[WorkloadItem],
    staff_present: Mapping[tuple[str, str], int],
    period_months: int,
    policy: ScoringPolicy,
) -> tuple[PostureLine, ...]:
    """Workload, staff needed, job efficiency (EJ) and band per (unit_id, position_id) and per unit."""
    effective = effective_minutes_for_period(period_months, policy)
    workload: dict[tuple[str, str], int] = {}
    for item in workloads:
        key = (item.unit_id, item.position_id)
        workload[key] = workload.get(key, 0) + item.norm_minutes * item.volume
    keys = sorted(key for key in workload.keys() | staff_present.keys() if workload.get(key) or staff_present.get(key))
    lines = [_line(*key, workload.get(key, 0), staff_present.get(key, 0), effective, policy) for key in keys]
    units = sorted({line.unit_id for line in lines})
    totals = [
        _line(
            unit,
            None,
            sum(line.workload_minutes for line in lines if line.unit_id == unit),
            sum(line.staff_present for line in lines if line.unit_id == unit),
            effective,
            policy,
        )
        for unit in units
    ]
    return tuple(sorted(lines + totals, key=lambda l: (l.unit_id, l.position_id is not None, l.position_id or "")))


def _line(
    unit_id: str, position_id: str | None, workload: int, staff: int, effective: Decimal, policy: ScoringPolicy
) -> PostureLine:
    efficiency = _round(Decimal(workload) / (staff * effective)) if staff else None
    # Work with nobody to do it is the most under-staffed posture there is.
    band = policy.posture_bands[0].band if efficiency is None else _band(efficiency, policy)
    return PostureLine(
        unit_id=unit_id,
        position_id=position_id,
        workload_minutes=workload,
        effective_minutes_per_person=effective,
        staff_present=staff,
        staff_needed=_round(Decimal(workload) / effective),
        efficiency=efficiency,
        band=band,
    )


def _band(efficiency: Decimal, policy: ScoringPolicy) -> str:
    return next(band.band for band in policy.posture_bands if efficiency >= band.min_efficiency)


def _round(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
