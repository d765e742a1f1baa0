"""The activities service (port 8002): activity catalogue, daily entries by staff, evidence files."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from flask import Flask

from runtime.config import Settings
from runtime.policy import load_section
from runtime.web import create_service_app

# Multipart framing around an evidence file; the file itself is checked against the policy's limit.
UPLOAD_OVERHEAD_BYTES = 64 * 1024


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(timezone.utc)


@dataclass
class Context:
    """What the activities service's entrypoints hand its handlers: the policy, the evidence store, the clock."""

    policy: object
    store: object
    clock: Callable[[], datetime] = field(default=utc_now)

    def now(self) -> datetime:
        """The current time by the service's clock."""
        return self.clock()


def build_context(settings: Settings) -> Context:
    """The service's context; its policy section is validated here, at start-up."""
    from activities.domain import load_policy
    from activities.storage import make_store
    return Context(load_section(settings.policy_file, "activities", load_policy), make_store(settings))


def create_app(settings: Settings | None = None) -> Flask:
    """Build the activities Flask app around its context."""
    from activities.http import blueprint
    from activities.tables import metadata
    settings = settings or Settings.from_env("activities")
    ctx = build_context(settings)
    app = create_service_app(settings, metadata, [blueprint], "Kinerja activities", service=ctx)
    # Twice the limit: a file a little too big gets a clear field error, a huge one is cut off early (413).
    app.config["MAX_CONTENT_LENGTH"] = 2 * ctx.policy.evidence.max_bytes + UPLOAD_OVERHEAD_BYTES
    return app
