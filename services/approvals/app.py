"""The approvals service (port 8003): supervisors' queues and decisions, escalation, verification, audit."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from flask import Flask

from runtime.config import Settings
from runtime.policy import load_section
from runtime.web import create_service_app

DEFAULT_SAMPLE_SEED = "kinerja-verification"


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(timezone.utc)


@dataclass
class Context:
    """What approvals' entrypoints hand its handlers: the policy, the verification sample's seed, the clock."""

    policy: object
    sample_seed: str
    clock: Callable[[], datetime] = field(default=utc_now)

    def now(self) -> datetime:
        """The current time by the service's clock."""
        return self.clock()


def build_context(settings: Settings) -> Context:
    """Approvals' context; its policy section is validated here, at start-up. The verification sample is
    reproducible from its seed; a region may set its own (APPROVALS_SAMPLE_SEED)."""
    from approvals.domain import load_policy
    return Context(load_section(settings.policy_file, "approvals", load_policy),
                   settings.extra.get("APPROVALS_SAMPLE_SEED", DEFAULT_SAMPLE_SEED))


def create_app(settings: Settings | None = None) -> Flask:
    """Build the approvals Flask app around its context."""
    from approvals.http import blueprint
    from approvals.tables import metadata
    settings = settings or Settings.from_env("approvals")
    return create_service_app(settings, metadata, [blueprint], "Kinerja approvals", service=build_context(settings))
