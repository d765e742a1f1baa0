"""Alembic migrations, one history per service (`<service>/migrations`)."""
from __future__ import annotations

import importlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config

from runtime.db import ensure_database, make_engine


def alembic_config(service: str, url: str) -> Config:
    """The Alembic configuration of `service` against `url`."""
    package_dir = Path(importlib.import_module(service).__file__).parent
    config = Config()
    config.set_main_option("script_location", str(package_dir / "migrations"))
    config.set_main_option("path_separator", "os")
    config.attributes["url"] = url
    return config


def upgrade(service: str, url: str, revision: str = "head") -> None:
    """Create the service's database if needed and bring its schema to `revision`."""
    ensure_database(url)
    command.upgrade(alembic_config(service, url), revision)


def make_revision(service: str, url: str, message: str) -> None:
    """Autogenerate a migration for `service` from its tables (a developer command)."""
    command.revision(alembic_config(service, url), message=message, autogenerate=True)


def run_env(metadata) -> None:
    """The body of every service's `migrations/env.py`."""
    url = context.config.attributes["url"]
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=metadata,
                              render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()
