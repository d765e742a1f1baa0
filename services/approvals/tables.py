"""The approvals service's tables: the entries under decision, decisions, verifications, closed months, audit."""
from sqlalchemy import (JSON, BigInteger, Boolean, Column, Date, DateTime, Index, Integer, MetaData, String, Table,
                        Text)

from runtime.audit_chain import AuditStream, chain_columns
from runtime.messaging import add_messaging_tables
from runtime.revocation import add_revoked_sessions_table

metadata = MetaData()

# Projection of directory.employee.upserted: who approves whom (Plt first), unit and zone.
employees = Table(
    "employees", metadata,
    Column("employee_id", String(18), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("unit_id", String(64), nullable=False, index=True),
    Column("zone", String(40), nullable=False),
    Column("supervisor_id", String(18), nullable=True, index=True),
    Column("acting_supervisor_id", String(18), nullable=True, index=True),
    Column("active", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Projection of activities.entry.*, plus the state decisions and verifications gave each entry.
entries = Table(
    "entries", metadata,
    Column("entry_id", String(36), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("employee_id", String(18), nullable=False, index=True),
    Column("unit_id", String(64), nullable=True, index=True),
    Column("local_date", Date, nullable=False),
    Column("zone", String(40), nullable=False),
    Column("start_at", DateTime(timezone=True), nullable=False),
    Column("end_at", DateTime(timezone=True), nullable=False),
    Column("catalogue_item_id", String(64), nullable=True),
    Column("description", Text, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("output", Text, nullable=False),
    Column("norm_minutes", Integer, nullable=True),
    Column("duration_minutes", Integer, nullable=False),
    Column("credited_minutes", Integer, nullable=False),
    Column("free_description", Boolean, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("state", String(20), nullable=False),
    Column("accepted_minutes", Integer, nullable=True),
    Column("last_decision_id", String(36), nullable=True),
    Column("sampled", Boolean, nullable=False),
    Column("verified", Boolean, nullable=True),
    Column("creditable", Boolean, nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("ix_approvals_entries_state_employee", "state", "employee_id"),
    Index("ix_approvals_entries_unit_date", "unit_id", "local_date"),
)

decisions = Table(
    "decisions", metadata,
    Column("decision_id", String(36), primary_key=True),
    Column("entry_id", String(36), nullable=False, index=True),
    Column("entry_version", Integer, nullable=False),
    Column("employee_id", String(18), nullable=False),
    Column("unit_id", String(64), nullable=True),
    Column("local_date", Date, nullable=False),
    Column("decider_id", String(18), nullable=False, index=True),
    Column("approver_id", String(18), nullable=True),
    Column("action", String(20), nullable=False),
    Column("reason", Text, nullable=True),
    Column("state_before", String(20), nullable=False),
    Column("state", String(20), nullable=False),
    Column("accepted_minutes", Integer, nullable=True),
    Column("credited_minutes", Integer, nullable=False),
    Column("sampled", Boolean, nullable=False),
    Column("creditable", Boolean, nullable=False),
    Column("escalation_level", Integer, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("on_time", Boolean, nullable=False),
    Column("days_late", Integer, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
)

verifications = Table(
    "verifications", metadata,
    Column("verification_id", String(36), primary_key=True),
    Column("decision_id", String(36), nullable=False, index=True),
    Column("entry_id", String(36), nullable=False, index=True),
    Column("verifier_id", String(18), nullable=False),
    Column("verdict", String(20), nullable=False),
    Column("reason", Text, nullable=True),
    Column("state", String(20), nullable=False),
    Column("verified", Boolean, nullable=False),
    Column("verified_at", DateTime(timezone=True), nullable=False),
)

verifier_units = Table(
    "verifier_units", metadata,
    Column("verifier_id", String(18), primary_key=True),
    Column("unit_id", String(64), primary_key=True),
    Column("assigned_by", String(18), nullable=False),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
)

closed_months = Table(
    "closed_months", metadata,
    Column("unit_id", String(64), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("closed_by", String(18), nullable=False),
    Column("closed_at", DateTime(timezone=True), nullable=False),
    Column("entry_count", Integer, nullable=False),
)

# Projection of scoring.flag.*: cross-check flags shown beside the entries of that employee and day.
flags = Table(
    "flags", metadata,
    Column("flag_key", String(200), primary_key=True),
    Column("kind", String(60), nullable=False),
    Column("employee_id", String(18), nullable=False),
    Column("local_date", Date, nullable=False),
    Column("message", Text, nullable=False),
    Column("entry_ids", JSON, nullable=False),
    Column("resolution", Text, nullable=True),
    Column("resolved", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_flags_employee_date", "employee_id", "local_date"),
)

# Projection of attendance.day.built: the latest version of each attendance day.
attendance_days = Table(
    "attendance_days", metadata,
    Column("employee_id", String(18), primary_key=True),
    Column("local_date", Date, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("day", JSON, nullable=False),
)

# Append-only (no code path updates or deletes it; PostgreSQL refuses it by trigger and the service's role may
# only insert and read it) and hash-chained (runtime.audit_chain): an edit, a deletion or a truncation shows.
audit = Table(
    "audit", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(18), nullable=False),
    Column("action", String(60), nullable=False),
    Column("entity", String(120), nullable=False, index=True),
    Column("entry_id", String(36), nullable=True, index=True),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
    Column("changed", JSON, nullable=False),
    *chain_columns(),
)

AUDIT_STREAMS = (AuditStream("approvals.audit", audit,
                             ("at", "actor", "action", "entity", "entry_id", "before", "after", "changed")),)

outbox, inbox = add_messaging_tables(metadata)
add_revoked_sessions_table(metadata)
