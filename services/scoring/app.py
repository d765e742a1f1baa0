"""The scoring service (port 8004): cross-check flags, monthly scores, predicates, staffing posture, public data."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from runtime.config import Settings
from runtime.policy import load_section
from runtime.web import create_service_app


@dataclass(frozen=True)
class Context:
    """What scoring's entrypoints hand its handlers: the `[scoring]` policy."""

    policy: object


def build_context(settings: Settings) -> Context:
    """Scoring's context; the `[scoring]` policy (with the shared `[discipline]` rates) is validated here, at start-up."""
    from scoring.domain.policy import load_policy
    return Context(load_section(settings.policy_file, "scoring", load_policy, discipline=True))


def create_app(settings: Settings | None = None) -> Flask:
    """Build scoring's Flask app around its context."""
    from scoring.http import blueprint
    from scoring.tables import metadata
    settings = settings or Settings.from_env("scoring")
    return create_service_app(settings, metadata, [blueprint], "Kinerja scoring", service=build_context(settings))
