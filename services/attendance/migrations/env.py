"""Alembic environment of the attendance service."""
from attendance.tables import metadata
from runtime.migrate import run_env

run_env(metadata)
