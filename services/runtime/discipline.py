"""The policy's `[discipline]` section: the deduction rates that scoring (the discipline score it publishes)
and payroll (the TPP deductions) both apply, set once so the public figure and the deduction agree.

Percentages per late band (TL, *terlambat*) and early-leave band (PSW, *pulang sebelum waktunya*), per day
absent without notice (TK, *tanpa keterangan*) and per day of a deducting absence kind; the month's cap; the
band a day with a missing clock-in or clock-out counts as. Defaults: the widely copied Permentan 68/2012 rates.

Per absence kind also what it does to the minutes the activity score expects (`required_minutes`): `excused`
takes a whole day of that kind out of the month's effective minutes (the employee is not expected to work it),
`required` keeps it in (the employee earns those minutes with the activities they log, e.g. on official duty).
National defaults: leave (*cuti*, including maternity leave, *cuti melahirkan*, which is recorded as leave) and
sick leave are excused: PP 11/2017 (ASN management) grants them as cuti, a right to be away from work; official
duty (*dinas luar*) counts as present (PP 94/2021: absence with a valid reason is no breach) and is worked, so
its minutes stay required; permission (*izin*) is not a cuti and stays required.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Mapping

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

LATE_BANDS = ("TL1", "TL2", "TL3", "TL4")
EARLY_BANDS = ("PSW1", "PSW2", "PSW3", "PSW4")
BANDS = LATE_BANDS + EARLY_BANDS
ABSENCE_KINDS = ("leave", "sick", "duty", "permission")
EXCUSED, REQUIRED = "excused", "required"
DEFAULT_REQUIRED_MINUTES = {"leave": EXCUSED, "sick": EXCUSED, "duty": REQUIRED, "permission": REQUIRED}
DEFAULT_BAND_RATES = {"TL1": "0.5", "TL2": "1", "TL3": "1.5", "TL4": "2",
                      "PSW1": "0.5", "PSW2": "1", "PSW3": "1.5", "PSW4": "2"}


@dataclass(frozen=True)
class Discipline:
    """The region's discipline rates, in percent (of the base each service names)."""

    band_rates: Mapping[str, Decimal]
    absent_per_day: Decimal
    monthly_cap: Decimal
    absence_rates: Mapping[str, Decimal]
    missing_clock_in_band: str = "TL4"
    missing_clock_out_band: str = "PSW4"
    required_minutes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType(DEFAULT_REQUIRED_MINUTES))

    @property
    def excused_kinds(self) -> frozenset[str]:
        """The absence kinds whose whole days leave the month's required (effective) minutes."""
        return frozenset(kind for kind, treatment in self.required_minutes.items() if treatment == EXCUSED)


class _Percent(fields.Decimal):
    """A Decimal percent that reads TOML floats through their shortest text (1.1 stays 1.1)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, float):
            value = repr(value)
        return super()._deserialize(value, attr, data, **kwargs)


class _DisciplineSchema(Schema):
    band_rates = fields.Dict(keys=fields.String(validate=validate.OneOf(BANDS)),
                             values=_Percent(validate=validate.Range(min=0)), load_default=DEFAULT_BAND_RATES)
    absent_per_day = _Percent(load_default=Decimal(3), validate=validate.Range(min=0))
    monthly_cap = _Percent(load_default=Decimal(100), validate=validate.Range(min=0, max=100))
    absence_rates = fields.Dict(keys=fields.String(validate=validate.OneOf(ABSENCE_KINDS)),
                                values=_Percent(validate=validate.Range(min=0)), load_default=dict)
    missing_clock_in_band = fields.String(load_default="TL4", validate=validate.OneOf(LATE_BANDS))
    missing_clock_out_band = fields.String(load_default="PSW4", validate=validate.OneOf(EARLY_BANDS))
    required_minutes = fields.Dict(keys=fields.String(validate=validate.OneOf(ABSENCE_KINDS)),
                                   values=fields.String(validate=validate.OneOf((EXCUSED, REQUIRED))),
                                   load_default=dict)

    @validates_schema
    def every_band(self, data, **kwargs):
        missing = [band for band in BANDS if band not in data.get("band_rates", {})]
        if missing:
            raise ValidationError({band: ["Missing rate for this band."] for band in missing}, "band_rates")

    @post_load
    def make(self, data, **kwargs):
        rates = data["band_rates"]
        return Discipline(
            band_rates=MappingProxyType({band: Decimal(rates[band]) for band in BANDS}),
            absent_per_day=Decimal(data["absent_per_day"]), monthly_cap=Decimal(data["monthly_cap"]),
            absence_rates=MappingProxyType({k: Decimal(v) for k, v in data["absence_rates"].items()}),
            missing_clock_in_band=data["missing_clock_in_band"], missing_clock_out_band=data["missing_clock_out_band"],
            required_minutes=MappingProxyType({**DEFAULT_REQUIRED_MINUTES, **data["required_minutes"]}))


def load_discipline(section: dict) -> Discipline:
    """Validate the `[discipline]` table; raises `marshmallow.ValidationError` naming the field."""
    return _DisciplineSchema().load(section)


def moved_to_discipline(section: dict, keys) -> None:
    """Refuse discipline rates set in a service's own section: they are set once, in `[discipline]`."""
    found = sorted(key for key in keys if key in section)
    if found:
        raise ValidationError({key: ["set once in the [discipline] section, read by scoring and payroll"]
                               for key in found})
