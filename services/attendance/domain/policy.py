"""The regional attendance policy: the `[attendance]` section of a region's TOML file."""

from dataclasses import dataclass

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from contracts.attendance import ABSENCE_KINDS

from .presence import PresencePolicy


@dataclass(frozen=True)
class Band:
    """A discipline band: minutes late (TL, *terlambat*) or early (PSW, *pulang sebelum waktu*), inclusive."""

    code: str
    from_minutes: int
    to_minutes: int | None  # None: open-ended, the last band

    def covers(self, minutes: int) -> bool:
        """Whether `minutes` falls inside this band."""
        return self.from_minutes <= minutes and (self.to_minutes is None or minutes <= self.to_minutes)


NATIONAL_LATE_BANDS = (
    Band("TL1", 1, 30),
    Band("TL2", 31, 60),
    Band("TL3", 61, 90),
    Band("TL4", 91, None),
)
NATIONAL_EARLY_LEAVE_BANDS = (
    Band("PSW1", 1, 30),
    Band("PSW2", 31, 60),
    Band("PSW3", 61, 90),
    Band("PSW4", 91, None),
)


@dataclass(frozen=True)
class AttendancePolicy:
    """How a region turns punches into an attendance day; defaults are the national rules."""

    late_grace_minutes: int = 0
    early_leave_grace_minutes: int = 0
    late_bands: tuple[Band, ...] = NATIONAL_LATE_BANDS
    early_leave_bands: tuple[Band, ...] = NATIONAL_EARLY_LEAVE_BANDS
    missing_clock_in_band: str = "TL4"
    missing_clock_out_band: str = "PSW4"
    overtime_threshold_minutes: int = 0
    punch_window_before_minutes: int = 240
    punch_window_after_minutes: int = 360
    repeat_punch_minutes: int = 5
    presence: PresencePolicy = PresencePolicy()  # check-ins from a phone: `[attendance.presence]`

    def late_band(self, minutes: int) -> str | None:
        """The TL band for `minutes` late (after grace), or None."""
        return _band_code(self.late_bands, minutes)

    def early_leave_band(self, minutes: int) -> str | None:
        """The PSW band for `minutes` left early (after grace), or None."""
        return _band_code(self.early_leave_bands, minutes)


def _band_code(bands: tuple[Band, ...], minutes: int) -> str | None:
    return next((band.code for band in bands if band.covers(minutes)), None)


def _minutes(**kwargs) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=0), **kwargs)


class _BandSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1))
    from_minutes = _minutes(required=True)
    to_minutes = _minutes(load_default=None, allow_none=True)

    @post_load
    def _make(self, data, **_kwargs):
        return Band(**data)


class _PresenceSchema(Schema):
    max_accuracy_m = fields.Float(load_default=PresencePolicy.max_accuracy_m, validate=validate.Range(min=1))
    max_speed_kmh = fields.Float(load_default=PresencePolicy.max_speed_kmh, validate=validate.Range(min=1))
    max_clock_skew_s = fields.Integer(strict=True, load_default=PresencePolicy.max_clock_skew_s,
                                      validate=validate.Range(min=0))
    repeated_location_m = fields.Float(load_default=PresencePolicy.repeated_location_m, validate=validate.Range(min=0))
    min_elapsed_minutes = fields.Float(load_default=PresencePolicy.min_elapsed_minutes,
                                       validate=validate.Range(min=0, min_inclusive=False))
    exempt_absence_kinds = fields.List(fields.String(validate=validate.OneOf(ABSENCE_KINDS)),
                                       load_default=list(PresencePolicy.exempt_absence_kinds))
    anywhere_weekdays = fields.List(fields.Integer(strict=True, validate=validate.Range(1, 7)), load_default=list)
    keep_coordinates_days = fields.Integer(strict=True, load_default=PresencePolicy.keep_coordinates_days,
                                           validate=validate.Range(min=0, max=3660))
    max_photo_bytes = fields.Integer(strict=True, load_default=PresencePolicy.max_photo_bytes,
                                     validate=validate.Range(min=1024, max=20 * 1024 * 1024))

    @post_load
    def _make(self, data, **_kwargs):
        return PresencePolicy(**{**data, "exempt_absence_kinds": tuple(data["exempt_absence_kinds"]),
                                 "anywhere_weekdays": tuple(data["anywhere_weekdays"])})


class AttendancePolicySchema(Schema):
    """Validates the `[attendance]` section and builds an AttendancePolicy."""

    late_grace_minutes = _minutes(load_default=0)
    early_leave_grace_minutes = _minutes(load_default=0)
    late_bands = fields.List(fields.Nested(_BandSchema), load_default=list(NATIONAL_LATE_BANDS),
                             validate=validate.Length(min=1))
    early_leave_bands = fields.List(fields.Nested(_BandSchema), load_default=list(NATIONAL_EARLY_LEAVE_BANDS),
                                    validate=validate.Length(min=1))
    missing_clock_in_band = fields.String(load_default="TL4")
    missing_clock_out_band = fields.String(load_default="PSW4")
    overtime_threshold_minutes = _minutes(load_default=0)
    punch_window_before_minutes = _minutes(load_default=240)
    punch_window_after_minutes = _minutes(load_default=360)
    repeat_punch_minutes = _minutes(load_default=5)
    presence = fields.Nested(_PresenceSchema, load_default=PresencePolicy)

    @validates_schema
    def _check_bands(self, data, **_kwargs):
        errors = {}
        for name, missing_name in (("late_bands", "missing_clock_in_band"),
                                   ("early_leave_bands", "missing_clock_out_band")):
            bands = data[name]
            band_errors = _band_errors(bands)
            if band_errors:
                errors[name] = band_errors
            if data[missing_name] not in {band.code for band in bands}:
                errors[missing_name] = [f"must be one of the codes in {name}"]
        if errors:
            raise ValidationError(errors)

    @post_load
    def _make(self, data, **_kwargs):
        data["late_bands"] = tuple(data["late_bands"])
        data["early_leave_bands"] = tuple(data["early_leave_bands"])
        return AttendancePolicy(**data)


def _band_errors(bands: list[Band]) -> dict[int, dict[str, list[str]]]:
    """Bands must tile the minutes without gap or overlap, starting at 1 or more, the last open-ended."""
    errors: dict[int, dict[str, list[str]]] = {}
    codes = [band.code for band in bands]
    for index, band in enumerate(bands):
        problems: dict[str, list[str]] = {}
        if band.from_minutes < 1:
            problems["from_minutes"] = ["must be at least 1"]
        if index > 0 and bands[index - 1].to_minutes is not None \
                and band.from_minutes != bands[index - 1].to_minutes + 1:
            problems["from_minutes"] = [f"must be {bands[index - 1].to_minutes + 1}, right after the previous band"]
        last = index == len(bands) - 1
        if band.to_minutes is None and not last:
            problems["to_minutes"] = ["only the last band may be open-ended"]
        elif band.to_minutes is not None and last:
            problems["to_minutes"] = ["the last band must be open-ended (leave to_minutes out)"]
        elif band.to_minutes is not None and band.to_minutes < band.from_minutes:
            problems["to_minutes"] = ["must not be below from_minutes"]
        if codes.count(band.code) > 1:
            problems["code"] = ["must be unique"]
        if problems:
            errors[index] = problems
    return errors


def load_policy(section: dict) -> AttendancePolicy:
    """Build the policy from the `[attendance]` TOML table; raises marshmallow.ValidationError naming the field."""
    return AttendancePolicySchema().load(section)
