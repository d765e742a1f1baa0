"""The payroll service (port 8005): monthly TPP runs, explainable payslips, budgets and bank files."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from runtime.config import Settings
from runtime.policy import load_section
from runtime.web import create_service_app


def _organisation(section: dict) -> str:
    return str(section.get("name") or "organisation")


@dataclass(frozen=True)
class Context:
    """What payroll's entrypoints hand its handlers: the `[payroll]` policy and the organisation's name."""

    policy: object
    organisation: str


def build_context(settings: Settings) -> Context:
    """Payroll's context; the `[payroll]` policy (with the shared `[discipline]` rates) is validated here, at start-up."""
    from payroll.domain.policy import load_policy
    return Context(load_section(settings.policy_file, "payroll", load_policy, discipline=True),
                   load_section(settings.policy_file, "organisation", _organisation))


def create_app(settings: Settings | None = None) -> Flask:
    """Build the payroll's Flask app around its context."""
    from payroll.http import blueprint
    from payroll.tables import metadata
    settings = settings or Settings.from_env("payroll")
    return create_service_app(settings, metadata, [blueprint], "Kinerja payroll", service=build_context(settings))
