"""The identity service (port 8007): sign-in, tokens, and the platform's signing keys (JWKS)."""
from __future__ import annotations

from flask import Flask

from runtime.config import Settings
from runtime.web import create_service_app


def create_app(settings: Settings | None = None) -> Flask:
    """Build the identity service's Flask app; generates the platform key pair on first start."""
    from identity.http import blueprint
    from identity.tables import metadata
    from runtime.keys import KeyStore
    settings = settings or Settings.from_env("identity")
    app = create_service_app(settings, metadata, [blueprint], "Kinerja identity")
    app.extensions["kinerja.keys"] = KeyStore(settings.signing_keys_dir)
    app.extensions["kinerja.keys"].ensure()
    return app
