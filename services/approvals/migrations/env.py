"""Alembic environment of the approvals service."""
from approvals.tables import metadata
from runtime.migrate import run_env

run_env(metadata)
