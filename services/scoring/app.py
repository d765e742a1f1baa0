"""The scoring service (port 8004): cross-check flags, monthly scores, predicates, staffing posture, public data."""
from __future__ import annotations

from flask import Flask

from runtime.config import Settings
from runtime.policy import load_section
from runtime.web import create_service_app


def create_app(settings: Settings | None = None) -> Flask:
    """Build scoring's Flask app; the `[scoring]` policy is validated at start-up and kept in `POLICY`."""
    from scoring.domain.policy import load_policy
    from scoring.http import blueprint
    from scoring.tables import metadata
    settings = settings or Settings.from_env("scoring")
    policy = load_section(settings.policy_file, "scoring", load_policy)
    app = create_service_app(settings, metadata, [blueprint], "Kinerja scoring")
    app.config["POLICY"] = policy
    return app
