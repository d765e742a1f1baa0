"""The attendance service (port 8001): fingerprint devices, punches, attendance days, absences."""
from __future__ import annotations

from flask import Flask

from runtime.config import Settings
from runtime.web import create_service_app


def build_context(settings: Settings):
    """Attendance's context (`attendance.config.AttendanceConfig`): the `[attendance]` policy and the service's
    settings, validated here at start-up; the app, the consumer and the ingest job each build it once."""
    from attendance.config import load_config
    return load_config(settings)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the attendance Flask app around its context."""
    from attendance.http import adms_blueprint, api_blueprint
    from attendance.tables import metadata
    settings = settings or Settings.from_env("attendance")
    return create_service_app(settings, metadata, [adms_blueprint, api_blueprint], "Kinerja attendance",
                              service=build_context(settings))
