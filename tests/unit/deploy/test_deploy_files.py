"""The files users deploy with: the Compose file is valid and complete; every policy preset loads."""
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from runtime.policy import PolicyError, load_section
from runtime.service import SERVICES, has_jobs

ROOT = Path(__file__).resolve().parents[3]
PRESETS = sorted((ROOT / "deploy" / "policies").glob("*.toml"))
SECTIONS = ["attendance", "activities", "approvals", "scoring", "payroll"]
SHARED_DISCIPLINE = ("scoring", "payroll")  # read the shared [discipline] section too
SOURCE = re.compile(r"seed 00\d|illustrative|Perpres \d+/\d{4}|PP \d+/\d{4}|Permen\w* \d+/\d{4}|PMK \d+/\d{4}|REQUIREMENTS")


def test_compose_file_matches_the_compose_specification():
    check = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run([str(check), "--builtin-schema", "vendor.compose-spec", str(ROOT / "docker-compose.yml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_every_service_with_its_own_database_relay_and_consumer():
    compose = YAML(typ="safe").load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"kafka", "postgres", "prometheus"} <= set(services)
    init_sql = (ROOT / "deploy" / "postgres" / "init-databases.sql").read_text()
    for name, port in SERVICES.items():
        web = services[name]
        assert web["command"] == [name, "web"]
        assert web["ports"] == [f"{port}:{port}"]
        database = web["environment"][f"{name.upper()}_DATABASE_URL"]
        assert database.endswith(f"/kinerja_{name}") and f"CREATE DATABASE kinerja_{name};" in init_sql
        for process in ("relay", "consume"):
            assert services[f"{name}-{process}"]["command"] == [name, process]
        if has_jobs(name):
            assert services[f"{name}-work"]["command"] == [name, "work"]


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.stem)
@pytest.mark.parametrize("section", SECTIONS)
def test_every_preset_section_is_valid(preset, section):
    import importlib
    loader = importlib.import_module(f"{section}.domain.policy").load_policy
    assert load_section(preset, section, loader, discipline=section in SHARED_DISCIPLINE) is not None


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.stem)
def test_scoring_and_payroll_read_one_set_of_discipline_rates(preset):
    from payroll.domain.policy import load_policy as payroll_policy
    from scoring.domain.policy import load_policy as scoring_policy
    scoring = load_section(preset, "scoring", scoring_policy, discipline=True).discipline
    payroll = load_section(preset, "payroll", payroll_policy, discipline=True).discipline
    assert dict(scoring.band_rates) == dict(payroll.band_rates)
    assert (scoring.absent_rate, scoring.monthly_cap) == (payroll.absent_per_day, payroll.monthly_cap)
    assert dict(scoring.absence_rates) == dict(payroll.absence_rates)


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.stem)
def test_every_preset_value_cites_its_source_or_is_marked_illustrative(preset):
    """A value's own line or its table's header carries a comment naming a seed article, a regulation,
    the requirements digest, or the word illustrative."""
    unsourced, header_sourced, table = [], False, None
    for number, line in enumerate(preset.read_text().splitlines(), 1):
        code, _, comment = line.partition("#")
        header = re.match(r"^\[\[?([\w.]+)\]\]?", code.strip())
        if header:
            table, header_sourced = header.group(1), bool(SOURCE.search(comment))
        elif re.match(r"^\s*[\w\"]+\s*=", code) and table != "organisation":
            if not (header_sourced or SOURCE.search(comment)):
                unsourced.append(f"line {number}: {line.strip()}")
    assert unsourced == []


def test_a_bad_policy_is_refused_naming_file_section_and_field(tmp_path):
    from attendance.domain.policy import load_policy
    bad = tmp_path / "bad.toml"
    bad.write_text("[attendance]\nlate_grace_minutes = -5\n")
    with pytest.raises(PolicyError, match=r"bad.toml \[attendance\].*late_grace_minutes"):
        load_section(bad, "attendance", load_policy)
    broken = tmp_path / "broken.toml"
    broken.write_text("[attendance\n")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_section(broken, "attendance", load_policy)


DASHBOARDS = sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))


def test_the_overview_devices_pipeline_and_payroll_dashboards_are_provisioned():
    assert {p.stem for p in DASHBOARDS} >= {"kinerja-overview", "kinerja-devices", "kinerja-pipeline",
                                           "kinerja-payroll-month"}


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_queries_only_metrics_the_services_export(dashboard):
    import json
    from tests.unit.deploy.exported import exported_metrics, metric_names
    board = json.loads(dashboard.read_text())
    assert board["uid"] == dashboard.stem and len({p["id"] for p in board["panels"]}) == len(board["panels"])
    queried = {name for panel in board["panels"] for target in panel["targets"] for name in metric_names(target["expr"])}
    assert queried and queried <= exported_metrics()


def test_compose_has_no_password_of_its_own():
    """Every password comes from the operator's environment (`${NAME:?...}` refuses to start without it)."""
    text = (ROOT / "docker-compose.yml").read_text()
    for name in ("POSTGRES_PASSWORD", "POSTGRES_APP_PASSWORD", "GRAFANA_ADMIN_PASSWORD"):
        assert f"${{{name}:-" not in text and f"${{{name}:?" in text, name
