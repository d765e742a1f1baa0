"""The directory service (port 8006): the organisation's reference data."""
from __future__ import annotations

from flask import Flask

from runtime.config import Settings
from runtime.web import create_service_app


def create_app(settings: Settings | None = None) -> Flask:
    """Build the directory's Flask app."""
    from directory.http import blueprint
    from directory.tables import metadata
    return create_service_app(settings or Settings.from_env("directory"), metadata, [blueprint], "Kinerja directory")
