"""The Prometheus configuration and alert rules: valid for promtool, every alert unit-tested
(`promtool test rules`), every alert with its runbook, every metric they query exported by a service."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.unit.deploy.exported import exported_metrics, metric_names

ROOT = Path(__file__).resolve().parents[3]
PROMETHEUS = ROOT / "deploy" / "prometheus"


def _alerts() -> list[dict]:
    rules = YAML(typ="safe").load((PROMETHEUS / "alerts.yml").read_text())
    return [rule for group in rules["groups"] for rule in group["rules"] if "alert" in rule]


@pytest.fixture(scope="module")
def promtool():
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing: .ci/run installs Debian's prometheus package")
        pytest.skip("promtool is missing (apt-get install prometheus)")
    return found


@pytest.mark.parametrize("command", [["check", "config", "prometheus.yml"], ["check", "rules", "alerts.yml"],
                                     ["test", "rules", "alerts.test.yml"]], ids=" ".join)
def test_promtool_accepts_the_configuration_and_every_alert_test_passes(promtool, command):
    result = subprocess.run([promtool, *command], cwd=PROMETHEUS, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_unit_tested_firing_and_has_a_runbook():
    tests = YAML(typ="safe").load((PROMETHEUS / "alerts.test.yml").read_text())["tests"]
    fired = {case["alertname"] for test in tests for case in test.get("alert_rule_test", []) if case.get("exp_alerts")}
    quiet = {case["alertname"] for test in tests for case in test.get("alert_rule_test", []) if not case.get("exp_alerts")}
    runbooks = set(re.findall(r"^### (Kinerja\w+)$", (ROOT / "docs" / "OPERATIONS.md").read_text(), re.M))
    names = {rule["alert"] for rule in _alerts()}
    assert names and names <= fired and names <= quiet
    assert names <= runbooks
    for rule in _alerts():
        assert rule["annotations"]["runbook_url"] == f"docs/OPERATIONS.md#{rule['alert'].lower()}"


def test_alerts_query_only_metrics_the_services_export():
    queried = {name for rule in _alerts() for name in metric_names(rule["expr"])}
    assert queried and queried <= exported_metrics()
