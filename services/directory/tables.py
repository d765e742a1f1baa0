"""The directory's tables: organisation units, positions, employees, schedules, holidays, enrolments, geofences."""
from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Float, Integer, MetaData, String, Table, false, true

from runtime.access import add_verifier_units_table
from runtime.messaging import add_messaging_tables
from runtime.revocation import add_revoked_sessions_table

metadata = MetaData()

units = Table(
    "units", metadata,
    Column("unit_id", String(64), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("parent_unit_id", String(64), nullable=True, index=True),
    Column("head_employee_id", String(18), nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

positions = Table(
    "positions", metadata,
    Column("position_id", String(64), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("job_class", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("unit_id", String(64), nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

employees = Table(
    "employees", metadata,
    Column("employee_id", String(18), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("unit_id", String(64), nullable=False, index=True),
    Column("position_id", String(64), nullable=True),
    Column("supervisor_id", String(18), nullable=True, index=True),
    Column("acting_supervisor_id", String(18), nullable=True, index=True),
    Column("status", String(8), nullable=False),
    Column("zone", String(40), nullable=False),
    Column("schedule_id", String(64), nullable=True),
    Column("roles", JSON, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("work_anywhere", Boolean, nullable=False, default=False, server_default=false()),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

schedules = Table(
    "schedules", metadata,
    Column("schedule_id", String(64), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("days", JSON, nullable=False),
    Column("variants", JSON, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# A holiday is in force (published as `directory.holiday.upserted`) only once `confirmed`; a proposal seeded from the
# national calendar waits for the admin. `source`: "admin" (added by hand) or the calendar it was proposed from;
# `decided`: an admin confirmed, adjusted or removed it, so a re-seed leaves the date alone (domain/calendar.py).
holidays = Table(
    "holidays", metadata,
    Column("date", Date, primary_key=True),
    Column("name", String(300), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("confirmed", Boolean, nullable=False, default=True, server_default=true()),
    Column("decided", Boolean, nullable=False, default=True, server_default=true()),
    Column("source", String(80), nullable=False, default="admin", server_default="admin"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

enrolments = Table(
    "enrolments", metadata,
    Column("device_serial", String(64), primary_key=True),
    Column("pin", String(32), primary_key=True),
    Column("employee_id", String(18), nullable=False, index=True),
    Column("name", String(300), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Where a unit's staff may check in from a phone (contracts.directory.GeofenceSchema): a circle or a polygon.
geofences = Table(
    "geofences", metadata,
    Column("fence_id", String(64), primary_key=True),
    Column("unit_id", String(64), nullable=False, index=True),
    Column("name", String(300), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("latitude", Float, nullable=True),
    Column("longitude", Float, nullable=True),
    Column("radius_m", Float, nullable=True),
    Column("vertices", JSON, nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

roster_imports = Table(
    "roster_imports", metadata,
    Column("import_id", String(36), primary_key=True),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Column("imported_by", String(18), nullable=False),
    Column("rows_total", Integer, nullable=False),
    Column("rows_accepted", Integer, nullable=False),
    Column("rows_rejected", Integer, nullable=False),
    Column("changes", Integer, nullable=False),
    Column("errors", JSON, nullable=False),
)

# Projection of approvals.verifier.assigned: the units whose people a verifier may read.
verifier_units = add_verifier_units_table(metadata)
outbox, inbox = add_messaging_tables(metadata)
add_revoked_sessions_table(metadata)
