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
    """Build the attendance Flask app around its context.

    Every device endpoint is rate-limited per serial (ATTENDANCE_DEVICE_RATE_LIMIT, default 300 per minute;
    per process), checked before the body is read."""
    from attendance.http import adms_blueprint, api_blueprint
    from attendance.tables import metadata
    from runtime.ratelimit import RateLimit
    settings = settings or Settings.from_env("attendance")
    context = build_context(settings)
    app = create_service_app(settings, metadata, [adms_blueprint, api_blueprint], "Kinerja attendance",
                             service=context)
    app.extensions["attendance_device_limit"] = RateLimit(context.device_rate_limit)  # all calls of a serial
    return app
