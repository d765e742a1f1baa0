"""Alembic environment of scoring."""
from runtime.migrate import run_env
from scoring.tables import metadata

run_env(metadata)
