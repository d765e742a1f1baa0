"""The approvals service (port 8003): supervisors' queues and decisions, escalation, verification, audit."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Flask

from runtime.config import Settings
from runtime.policy import load_section
from runtime.web import create_service_app

DEFAULT_SAMPLE_SEED = "kinerja-verification"


def create_app(settings: Settings | None = None) -> Flask:
    """Build the approvals Flask app, with its policy section validated at start-up."""
    from approvals.domain import load_policy
    from approvals.http import blueprint
    from approvals.tables import metadata
    settings = settings or Settings.from_env("approvals")
    app = create_service_app(settings, metadata, [blueprint], "Kinerja approvals")
    app.config["POLICY"] = load_section(settings.policy_file, "approvals", load_policy)
    # The verification sample is reproducible from this seed; a region may set its own (APPROVALS_SAMPLE_SEED).
    app.config["SAMPLE_SEED"] = settings.extra.get("APPROVALS_SAMPLE_SEED", DEFAULT_SAMPLE_SEED)
    app.config["NOW"] = lambda: datetime.now(timezone.utc)
    return app
