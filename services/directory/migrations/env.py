"""Alembic environment of the directory."""
from directory.tables import metadata
from runtime.migrate import run_env

run_env(metadata)
