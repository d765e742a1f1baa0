"""Alembic environment of the activities service."""
from activities.tables import metadata
from runtime.migrate import run_env

run_env(metadata)
