"""The identity service (port 8007): sign-in, tokens, and the platform's signing keys (JWKS)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from runtime.config import Settings
from runtime.web import create_service_app


@dataclass(frozen=True)
class Context:
    """What identity's entrypoints hand its handlers: the signing keys, the sign-in policy, the settings."""

    keys: object
    policy: object
    settings: Settings


def build_context(settings: Settings) -> Context:
    """Identity's context; the platform key pair is generated here on first start."""
    from identity.domain.accounts import SignInPolicy
    from runtime.keys import KeyStore
    keys = KeyStore(settings.signing_keys_dir)
    keys.ensure()
    return Context(keys, SignInPolicy.from_settings(settings.extra), settings)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the identity service's Flask app around its context.

    Failed and successful calls of the public endpoints alike count towards the per-address rate limit
    (IDENTITY_RATE_LIMIT, default 30 per minute; per process); repeated wrong passwords also lock the
    account itself (IDENTITY_MAX_FAILURES, IDENTITY_LOCK_MINUTES), whichever process serves them.
    """
    from identity.http import blueprint, public
    from identity.tables import metadata
    from runtime.ratelimit import RateLimit
    settings = settings or Settings.from_env("identity")
    app = create_service_app(settings, metadata, [public, blueprint], "Kinerja identity",
                             service=build_context(settings))
    app.extensions["identity_rate_limit"] = RateLimit(settings.extra.get("IDENTITY_RATE_LIMIT", "30 per minute"))
    return app
