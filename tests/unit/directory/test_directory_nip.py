from datetime import date

import pytest

from directory.domain.nip import Gender, InvalidNip, NipInfo, validate_nip

TODAY = date(2025, 6, 15)


@pytest.mark.parametrize(
    ("nip", "pppk", "expected"),
    [
        ("198503122010011002", False, NipInfo(date(1985, 3, 12), 2010, 1, Gender.MALE, 2)),
        (
            "199006202008062999",
            False,
            NipInfo(date(1990, 6, 20), 2008, 6, Gender.FEMALE, 999),
        ),  # appointed the month of the 18th birthday
        ("199001012025061001", False, NipInfo(date(1990, 1, 1), 2025, 6, Gender.MALE, 1)),  # appointed this month
        ("194001011960011001", False, NipInfo(date(1940, 1, 1), 1960, 1, Gender.MALE, 1)),  # earliest accepted
        ("199009132025242014", True, NipInfo(date(1990, 9, 13), 2025, None, Gender.FEMALE, 14)),  # NI PPPK, code 24
        ("198503122010011002", True, NipInfo(date(1985, 3, 12), 2010, None, Gender.MALE, 2)),
    ],
)
def test_a_valid_nip_tells_birth_appointment_gender_and_sequence(nip, pppk, expected):
    assert validate_nip(nip, TODAY, pppk=pppk) == expected


@pytest.mark.parametrize(
    ("nip", "pppk", "reason"),
    [
        ("19850312201001100", False, "must be exactly 18 digits"),
        ("1985031220100110021", False, "must be exactly 18 digits"),
        ("1985031220100110a2", False, "must be exactly 18 digits"),
        ("19850312 201001 1 002", False, "must be exactly 18 digits"),
        ("", False, "must be exactly 18 digits"),
        ("198502302010011002", False, "birth date 19850230 is not a real date"),
        ("193912312010011002", False, "birth year 1939 is before 1940"),
        ("203001012010011002", False, "birth date 2030-01-01 is in the future"),
        ("198503122010131002", False, "appointment month 13 is not a month"),
        ("198503122010001002", False, "appointment month 00 is not a month"),
        ("199009132025242014", False, "appointment month 24 is not a month"),  # an NI PPPK read as a NIP
        ("194501011959011002", False, "appointment year 1959 is before 1960"),
        ("198503122025071002", False, "appointment 202507 is in the future"),
        ("199009132026212014", True, "appointment 202621 is in the future"),
        ("199006202008051001", False, "before the holder's 18th birthday"),
        ("200801012025211001", True, "before the holder's 18th birthday"),
        ("198503122010013002", False, "gender digit must be 1 (male) or 2 (female), got 3"),
        ("198503122010010002", False, "gender digit must be 1 (male) or 2 (female), got 0"),
        ("198503122010011000", False, "sequence must be between 001 and 999"),
    ],
)
def test_an_invalid_nip_is_refused_with_its_reason(nip, pppk, reason):
    with pytest.raises(InvalidNip) as refused:
        validate_nip(nip, TODAY, pppk=pppk)
    assert reason in refused.value.reason
    assert refused.value.nip == nip


def test_the_reference_date_decides_what_is_in_the_future():
    nip = "198503122025071002"
    with pytest.raises(InvalidNip):
        validate_nip(nip, date(2025, 6, 30))
    assert validate_nip(nip, date(2025, 7, 1)).appointment_month == 7
