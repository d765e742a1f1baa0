import tomllib

import pytest
from marshmallow import ValidationError

from attendance.domain.policy import AttendancePolicy, Band, load_policy

NATIONAL = """
[attendance]
late_grace_minutes = 0
early_leave_grace_minutes = 0
late_bands = [
  { code = "TL1", from_minutes = 1, to_minutes = 30 },
  { code = "TL2", from_minutes = 31, to_minutes = 60 },
  { code = "TL3", from_minutes = 61, to_minutes = 90 },
  { code = "TL4", from_minutes = 91 },
]
early_leave_bands = [
  { code = "PSW1", from_minutes = 1, to_minutes = 30 },
  { code = "PSW2", from_minutes = 31, to_minutes = 60 },
  { code = "PSW3", from_minutes = 61, to_minutes = 90 },
  { code = "PSW4", from_minutes = 91 },
]
missing_clock_in_band = "TL4"
missing_clock_out_band = "PSW4"
overtime_threshold_minutes = 0
punch_window_before_minutes = 240
punch_window_after_minutes = 360
repeat_punch_minutes = 5
"""

SURABAYA = """
[attendance]
# Six-day week: set in the directory's schedule, not here. Late overtime without activity is flagged by scoring.
overtime_threshold_minutes = 30   # illustrative
"""

BANDA_ACEH = """
[attendance]
late_grace_minutes = 0
early_leave_grace_minutes = 0
"""

BANYUWANGI = """
[attendance]
late_grace_minutes = 5            # illustrative
"""

BELITUNG_TIMUR = """
[attendance]
# illustrative: the published three-band variant (TL1 <30, TL2 <60, TL3 >=60), not sourced to this region
late_bands = [
  { code = "TL1", from_minutes = 1, to_minutes = 29 },
  { code = "TL2", from_minutes = 30, to_minutes = 59 },
  { code = "TL3", from_minutes = 60 },
]
missing_clock_in_band = "TL3"
early_leave_bands = [
  { code = "PSW1", from_minutes = 1, to_minutes = 29 },
  { code = "PSW2", from_minutes = 30, to_minutes = 59 },
  { code = "PSW3", from_minutes = 60 },
]
missing_clock_out_band = "PSW3"
"""


def section(toml_text):
    return tomllib.loads(toml_text)["attendance"]


def test_empty_section_is_the_national_rule():
    assert load_policy({}) == AttendancePolicy() == load_policy(section(NATIONAL))


@pytest.mark.parametrize("preset, minutes_late, band", [
    (NATIONAL, 30, "TL1"),
    (NATIONAL, 91, "TL4"),
    (SURABAYA, 31, "TL2"),
    (BANDA_ACEH, 61, "TL3"),
    (BANYUWANGI, 1, "TL1"),
    (BELITUNG_TIMUR, 30, "TL2"),
    (BELITUNG_TIMUR, 60, "TL3"),
    (BELITUNG_TIMUR, 500, "TL3"),
])
def test_regional_presets_load(preset, minutes_late, band):
    assert load_policy(section(preset)).late_band(minutes_late) == band


def test_preset_values_are_read():
    assert load_policy(section(SURABAYA)).overtime_threshold_minutes == 30
    assert load_policy(section(BANYUWANGI)).late_grace_minutes == 5
    assert load_policy(section(BELITUNG_TIMUR)).early_leave_bands[-1] == Band("PSW3", 60, None)


@pytest.mark.parametrize("bad, errors", [
    ({"late_grace_minutes": -1}, {"late_grace_minutes": ["Must be greater than or equal to 0."]}),
    ({"late_grace_minutes": 2.5}, {"late_grace_minutes": ["Not a valid integer."]}),
    ({"grace": 5}, {"grace": ["Unknown field."]}),
    ({"late_bands": [{"code": "TL1", "from_minutes": 1, "to_minutes": 30}, {"code": "TL2", "from_minutes": 35}],
      "missing_clock_in_band": "TL2"},
     {"late_bands": {1: {"from_minutes": ["must be 31, right after the previous band"]}}}),
    ({"early_leave_bands": [{"code": "PSW1", "from_minutes": 1, "to_minutes": 30}], "missing_clock_out_band": "PSW1"},
     {"early_leave_bands": {0: {"to_minutes": ["the last band must be open-ended (leave to_minutes out)"]}}}),
    ({"late_bands": [{"code": "TL1", "from_minutes": 1}, {"code": "TL2", "from_minutes": 2}],
      "missing_clock_in_band": "TL1"},
     {"late_bands": {0: {"to_minutes": ["only the last band may be open-ended"]}}}),
    ({"late_bands": [{"code": "TL1", "from_minutes": "one"}]},
     {"late_bands": {0: {"from_minutes": ["Not a valid integer."]}}}),
    ({"late_bands": []}, {"late_bands": ["Shorter than minimum length 1."]}),
    ({"missing_clock_out_band": "TL4"}, {"missing_clock_out_band": ["must be one of the codes in early_leave_bands"]}),
])
def test_invalid_sections_name_the_field_at_fault(bad, errors):
    with pytest.raises(ValidationError) as raised:
        load_policy(bad)
    assert raised.value.messages == errors
