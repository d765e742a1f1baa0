"""Alembic migrations, one history per service (`<service>/migrations`)."""
from __future__ import annotations

import importlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import text

from runtime.db import ensure_database, make_engine


def alembic_config(service: str, url: str) -> Config:
    """The Alembic configuration of `service` against `url`."""
    package_dir = Path(importlib.import_module(service).__file__).parent
    config = Config()
    config.set_main_option("script_location", str(package_dir / "migrations"))
    config.set_main_option("path_separator", "os")
    config.attributes["url"] = url
    return config


def upgrade(service: str, url: str, revision: str = "head", service_role: str | None = None) -> None:
    """Create the service's database if needed and bring its schema to `revision` (run as the owner role of
    `url`); then, on PostgreSQL, grant `service_role` what the service needs, if that role exists."""
    ensure_database(url)
    config = alembic_config(service, url)
    config.attributes["service_role"] = service_role
    command.upgrade(config, revision)


def upgrade_service(settings) -> None:
    """Migrate a service as its settings say: as the owner (`MIGRATION_DATABASE_URL`), granting to its role."""
    upgrade(settings.service, settings.migration_database_url or settings.database_url,
            service_role=settings.service_role)


def grant_service_role(connection, metadata, role: str) -> bool:
    """Least privilege for the service's role: ordinary DML on its tables, but only INSERT and SELECT on the
    audit streams' tables (no UPDATE, DELETE or TRUNCATE; not the owner, so it cannot disable their trigger or
    drop them), and the sequences its inserts draw from. Nothing when the role does not exist; returns whether
    it granted."""
    exists = connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}).first()
    if not exists:
        return False
    grantee = connection.dialect.identifier_preparer.quote(role)
    connection.execute(text(f"GRANT USAGE ON SCHEMA public TO {grantee}"))
    for table in metadata.sorted_tables:
        name = connection.dialect.identifier_preparer.quote(table.name)
        connection.execute(text(f"REVOKE ALL ON TABLE {name} FROM {grantee}"))
        privileges = "SELECT, INSERT" if table.info.get("audit_stream") else "SELECT, INSERT, UPDATE, DELETE"
        connection.execute(text(f"GRANT {privileges} ON TABLE {name} TO {grantee}"))
    connection.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {grantee}"))
    return True


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
                role = context.config.attributes.get("service_role")
                if role and connection.dialect.name == "postgresql":
                    grant_service_role(connection, metadata, role)
    finally:
        engine.dispose()
