import tomllib
from pathlib import Path

import pytest

from payroll.domain.policy import PayrollPolicy, load_policy
from runtime.discipline import load_discipline

# The regional presets are the deployable policy files; their [payroll] sections are what these tests price.
PRESETS_DIR = Path(__file__).resolve().parents[3] / "deploy" / "policies"


@pytest.fixture
def preset():
    """Load a regional preset's `[payroll]` section, with its `[discipline]` rates, by region name."""

    def load(region: str) -> PayrollPolicy:
        document = tomllib.loads((PRESETS_DIR / f"{region}.toml").read_text())
        return load_policy(document["payroll"], load_discipline(document.get("discipline", {})))

    return load
