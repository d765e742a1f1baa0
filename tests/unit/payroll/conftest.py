import tomllib
from pathlib import Path

import pytest

import payroll.domain
from payroll.domain.policy import PayrollPolicy, load_policy

PRESETS_DIR = Path(payroll.domain.__file__).parent / "presets"


@pytest.fixture
def preset():
    """Load a regional preset's `[payroll]` section by region name."""

    def load(region: str) -> PayrollPolicy:
        return load_policy(tomllib.loads((PRESETS_DIR / f"{region}.toml").read_text())["payroll"])

    return load
