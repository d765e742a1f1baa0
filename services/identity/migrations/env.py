"""Alembic environment of the identity service."""
from identity.tables import metadata
from runtime.migrate import run_env

run_env(metadata)
