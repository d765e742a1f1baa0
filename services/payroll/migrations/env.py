"""Alembic environment of the payroll."""
from payroll.tables import metadata
from runtime.migrate import run_env

run_env(metadata)
