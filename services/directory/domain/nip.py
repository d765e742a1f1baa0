"""The NIP (*Nomor Induk Pegawai*), the 18-digit number that identifies a civil servant (ASN).

Layout (Perka BKN 22/2007): birth date YYYYMMDD, first appointment as candidate (TMT CPNS) YYYYMM,
gender digit (1 male, 2 female), 3-digit sequence. The NI PPPK of a contract employee has the same
length, but its two "month" digits hold an agreement code (e.g. 21, 24), so only the year is read.

Plausibility rules chosen here:
- born in 1940 or later (the oldest serving ASN retire at 65 at the latest);
- appointed in 1960 or later, and not after the month of the reference date;
- at least 18 years old at appointment, compared by month (the legal minimum age to apply);
- no upper age limit at appointment: honorary staff were appointed up to 46 and PPPK up to 59.
"""

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

EARLIEST_BIRTH_YEAR = 1940
EARLIEST_APPOINTMENT_YEAR = 1960
MIN_AGE_AT_APPOINTMENT = 18

_NIP = re.compile(r"[0-9]{18}")


class Gender(StrEnum):
    """The gender digit of a NIP: 1 male, 2 female."""

    MALE = "male"
    FEMALE = "female"


_GENDER_DIGITS = {"1": Gender.MALE, "2": Gender.FEMALE}


@dataclass(frozen=True)
class NipInfo:
    """What a valid NIP says about its holder; `appointment_month` is None for an NI PPPK."""

    birth_date: date
    appointment_year: int
    appointment_month: int | None
    gender: Gender
    sequence: int


class InvalidNip(ValueError):
    """A NIP that cannot be right; `reason` says why in words an administrator understands."""

    def __init__(self, nip: str, reason: str):
        super().__init__(reason)
        self.nip = nip
        self.reason = reason


def validate_nip(nip: str, reference_date: date, *, pppk: bool = False) -> NipInfo:
    """Read a NIP (or, with `pppk`, an NI PPPK), raising InvalidNip with the first rule it breaks.

    `reference_date` is "today": neither birth nor appointment may lie after it.
    """
    if not _NIP.fullmatch(nip):
        raise InvalidNip(nip, f"must be exactly 18 digits, got {nip!r}")
    birth_date = _birth_date(nip, reference_date)
    year, month = _appointment(nip, reference_date, pppk)
    # An NI PPPK has no month, so the holder may have turned 18 as late as December of that year.
    if (year, month or 12) < (birth_date.year + MIN_AGE_AT_APPOINTMENT, birth_date.month):
        raise InvalidNip(nip, f"appointment {nip[8:14]} is before the holder's {MIN_AGE_AT_APPOINTMENT}th birthday")
    if nip[14] not in _GENDER_DIGITS:
        raise InvalidNip(nip, f"gender digit must be 1 (male) or 2 (female), got {nip[14]}")
    sequence = int(nip[15:])
    if sequence == 0:
        raise InvalidNip(nip, "sequence must be between 001 and 999, got 000")
    return NipInfo(birth_date, year, month, _GENDER_DIGITS[nip[14]], sequence)


def _birth_date(nip: str, reference_date: date) -> date:
    try:
        birth_date = date(int(nip[0:4]), int(nip[4:6]), int(nip[6:8]))
    except ValueError:
        raise InvalidNip(nip, f"birth date {nip[0:8]} is not a real date (YYYYMMDD)") from None
    if birth_date.year < EARLIEST_BIRTH_YEAR:
        raise InvalidNip(nip, f"birth year {birth_date.year} is before {EARLIEST_BIRTH_YEAR}")
    if birth_date > reference_date:
        raise InvalidNip(nip, f"birth date {birth_date.isoformat()} is in the future")
    return birth_date


def _appointment(nip: str, reference_date: date, pppk: bool) -> tuple[int, int | None]:
    year = int(nip[8:12])
    month = None if pppk else int(nip[12:14])
    if month is not None and not 1 <= month <= 12:
        raise InvalidNip(nip, f"appointment month {nip[12:14]} is not a month (01-12)")
    if year < EARLIEST_APPOINTMENT_YEAR:
        raise InvalidNip(nip, f"appointment year {year} is before {EARLIEST_APPOINTMENT_YEAR}")
    if (year, month or 1) > (reference_date.year, reference_date.month):
        raise InvalidNip(nip, f"appointment {nip[8:14]} is in the future")
    return year, month
