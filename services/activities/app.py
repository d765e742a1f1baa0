"""The activities service (port 8002): activity catalogue, daily entries by staff, evidence files."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Flask

from runtime.config import Settings
from runtime.policy import load_section
from runtime.web import create_service_app

# Multipart framing around an evidence file; the file itself is checked against the policy's limit.
UPLOAD_OVERHEAD_BYTES = 64 * 1024


def create_app(settings: Settings | None = None) -> Flask:
    """Build the activities Flask app, with its policy section validated at start-up."""
    from activities.domain import load_policy
    from activities.http import blueprint
    from activities.storage import make_store
    from activities.tables import metadata
    settings = settings or Settings.from_env("activities")
    policy = load_section(settings.policy_file, "activities", load_policy)
    app = create_service_app(settings, metadata, [blueprint], "Kinerja activities")
    app.config["POLICY"] = policy
    app.config["EVIDENCE_STORE"] = make_store(settings)
    app.config["NOW"] = lambda: datetime.now(timezone.utc)
    # Twice the limit: a file a little too big gets a clear field error, a huge one is cut off early (413).
    app.config["MAX_CONTENT_LENGTH"] = 2 * policy.evidence.max_bytes + UPLOAD_OVERHEAD_BYTES
    return app
