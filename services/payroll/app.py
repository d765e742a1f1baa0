"""The payroll service (port 8005): monthly TPP runs, explainable payslips, budgets and bank files."""
from __future__ import annotations

from flask import Flask

from runtime.config import Settings
from runtime.policy import load_section
from runtime.web import create_service_app


def _organisation(section: dict) -> str:
    return str(section.get("name") or "organisation")


def create_app(settings: Settings | None = None) -> Flask:
    """Build the payroll's Flask app; the `[payroll]` policy is validated here, at start-up."""
    from payroll.domain.policy import load_policy
    from payroll.http import blueprint
    from payroll.tables import metadata
    settings = settings or Settings.from_env("payroll")
    policy = load_section(settings.policy_file, "payroll", load_policy)
    app = create_service_app(settings, metadata, [blueprint], "Kinerja payroll")
    app.config["POLICY"] = policy
    app.config["ORGANISATION"] = load_section(settings.policy_file, "organisation", _organisation)
    return app
