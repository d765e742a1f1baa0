"""The attendance service (port 8001): fingerprint devices, punches, attendance days, absences."""
from __future__ import annotations

from flask import Flask

from runtime.config import Settings
from runtime.web import create_service_app


def create_app(settings: Settings | None = None) -> Flask:
    """Build the attendance Flask app; the policy is validated here, at start-up."""
    from attendance.config import load_config
    from attendance.http import adms_blueprint, api_blueprint
    from attendance.tables import metadata
    settings = settings or Settings.from_env("attendance")
    config = load_config(settings)
    app = create_service_app(settings, metadata, [adms_blueprint, api_blueprint], "Kinerja attendance")
    app.config["ATTENDANCE"] = config  # the service's one context, read by `http._config()`
    return app
