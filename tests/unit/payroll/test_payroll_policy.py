"""The `[payroll]` policy section: presets load, mistakes are refused with the field named."""

import tomllib
from decimal import Decimal
from pathlib import Path

import pytest
from marshmallow import ValidationError

from payroll.domain.policy import load_policy
from runtime.discipline import load_discipline

PRESETS_DIR = Path(__file__).resolve().parents[3] / "deploy" / "policies"

ALL_CLASSES = {str(c): 1_000_000 for c in range(1, 18)}
BANDS = {"TL1": 1, "TL2": 1, "TL3": 1, "TL4": 1, "PSW1": 1, "PSW2": 1, "PSW3": 1}  # PSW4 left out


def kinerja_disiplin(kinerja, disiplin):
    return [{"name": "kinerja", "weight": kinerja, "source": "activity_score"},
            {"name": "disiplin", "weight": disiplin, "source": "discipline"}]


@pytest.mark.parametrize("path", sorted(PRESETS_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_every_preset_loads(path):
    document = tomllib.loads(path.read_text())

    policy = load_policy(document["payroll"], load_discipline(document.get("discipline", {})))

    assert "payroll" in document
    assert sorted(policy.base_amounts) == list(range(1, 18))
    assert sum(c.weight for c in policy.components) == 100


def test_the_national_preset_is_the_default():
    national = tomllib.loads((PRESETS_DIR / "national.toml").read_text())

    assert load_policy(national["payroll"], load_discipline(national["discipline"])) == load_policy({})


@pytest.mark.parametrize("section, path, message", [
    ({"components": kinerja_disiplin(60, 30)}, ("components",), ["Component weights must sum to 100, not 90."]),
    ({"components": kinerja_disiplin(60, 40) + [{"name": "kinerja", "weight": 0, "source": "target"}]},
     ("components",), ["Component names must be unique."]),
    ({"base_amounts": {k: v for k, v in ALL_CLASSES.items() if k != "7"}},
     ("base_amounts",), {"7": ["Missing amount for this job class."]}),
    ({"base_amounts": {**ALL_CLASSES, "18": 1}}, ("base_amounts", "18", "key"), None),
    ({"components": [{"name": "hadir", "weight": 100, "source": "attendance"}]}, ("components", 0, "source"), None),
    ({"discipline": {"band_rates": BANDS}}, ("discipline", "band_rates"),
     ["set once in the [discipline] section, read by scoring and payroll"]),
    ({"discipline": {"deduct_from": "discipline_component"}, "components": [
        {"name": "kinerja", "weight": 100, "source": "activity_score"}]},
     ("discipline", "deduct_from"), ["No component has source 'discipline' to deduct from."]),
    ({"sanctions": {"light": [20, 130]}}, ("sanctions", "light", 1), None),
    ({"rounding": {"mode": "nearest"}}, ("rounding", "mode"), None),
    ({"rounding": {"unit": 0}}, ("rounding", "unit"), None),
    ({"minimum": {"amount": 1.2}}, ("minimum", "amount"), None),
    ({"contributions": [{"name": "BPJS", "percent": 1, "ceiling": -1}]}, ("contributions", 0, "ceiling"), None),
    ({"correction_cutoff_day": 0}, ("correction_cutoff_day",), None),
    ({"bonus": 1}, ("bonus",), ["Unknown field."]),
])
def test_mistakes_are_refused_with_the_field_named(section, path, message):
    with pytest.raises(ValidationError) as refused:
        load_policy(section)

    found = refused.value.messages
    for key in path:
        found = found[key]
    if message is not None:
        assert found == message


def test_toml_floats_are_read_as_written():
    policy = load_policy({
        "components": [{"name": "a", "weight": 33.3, "source": "activity_score"},
                       {"name": "b", "weight": 33.3, "source": "target"},
                       {"name": "disiplin", "weight": 33.4, "source": "discipline"}],
        "cpns_percent": 80.5,
    })

    assert [c.weight for c in policy.components] == [Decimal("33.3"), Decimal("33.3"), Decimal("33.4")]
    assert policy.cpns_percent == Decimal("80.5")


@pytest.mark.parametrize("section, path, message", [
    ({"band_rates": BANDS}, ("band_rates",), {"PSW4": ["Missing rate for this band."]}),
    ({"monthly_cap": 120}, ("monthly_cap",), None),
    ({"absence_rates": {"holiday": 1}}, ("absence_rates", "holiday", "key"), None),
    ({"missing_clock_in_band": "PSW1"}, ("missing_clock_in_band",), None),
])
def test_mistakes_in_the_shared_discipline_section_are_refused_with_the_field_named(section, path, message):
    with pytest.raises(ValidationError) as refused:
        load_discipline(section)

    found = refused.value.messages
    for key in path:
        found = found[key]
    if message is not None:
        assert found == message
