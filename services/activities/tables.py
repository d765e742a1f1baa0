"""The activities service's tables: catalogue, entries with their versions, evidence, and its projections."""
from sqlalchemy import (JSON, BigInteger, Boolean, Column, Date, DateTime, Index, Integer, MetaData, String, Table,
                        Text)

from runtime.access import add_verifier_units_table
from runtime.messaging import add_messaging_tables
from runtime.revocation import add_revoked_sessions_table

metadata = MetaData()

# Projection of directory.employee.upserted: what entries need (unit, position, zone) and who approves.
employees = Table(
    "employees", metadata,
    Column("employee_id", String(18), primary_key=True),
    Column("unit_id", String(64), nullable=False, index=True),
    Column("position_id", String(64), nullable=True),
    Column("zone", String(40), nullable=False),
    Column("supervisor_id", String(18), nullable=True, index=True),
    Column("acting_supervisor_id", String(18), nullable=True, index=True),
    Column("active", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

catalogue_items = Table(
    "catalogue_items", metadata,
    Column("item_id", String(64), primary_key=True),
    Column("unit_id", String(64), nullable=True, index=True),
    Column("position_id", String(64), nullable=True, index=True),
    Column("description", Text, nullable=False),
    Column("norm_minutes", Integer, nullable=False),
    Column("output_unit", String(100), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

catalogue_imports = Table(
    "catalogue_imports", metadata,
    Column("import_id", String(36), primary_key=True),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Column("imported_by", String(18), nullable=False),
    Column("rows_accepted", Integer, nullable=False),
    Column("rows_rejected", Integer, nullable=False),
    Column("errors", JSON, nullable=False),
)

entries = Table(
    "entries", metadata,
    Column("entry_id", String(36), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("employee_id", String(18), nullable=False),
    Column("unit_id", String(64), nullable=False),
    Column("position_id", String(64), nullable=True),
    Column("local_date", Date, nullable=False),
    Column("zone", String(40), nullable=False),
    Column("start_at", DateTime(timezone=True), nullable=False),
    Column("end_at", DateTime(timezone=True), nullable=False),
    Column("catalogue_item_id", String(64), nullable=True),
    Column("description", Text, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("output", Text, nullable=False),
    Column("note", Text, nullable=False),
    Column("location", JSON, nullable=True),
    Column("norm_minutes", Integer, nullable=True),
    Column("duration_minutes", Integer, nullable=False),
    Column("accepted_minutes", Integer, nullable=True),
    Column("credited_minutes", Integer, nullable=False),
    Column("state", String(20), nullable=False),
    Column("verified", Boolean, nullable=True),
    Column("creditable", Boolean, nullable=True),
    Column("decision_reason", Text, nullable=True),
    Column("decided_by", String(18), nullable=True),
    Column("last_decision_id", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_entries_employee_date", "employee_id", "local_date"),
    Index("ix_entries_unit_date", "unit_id", "local_date"),
)

# Every change of an entry, append-only: content versions (submit, edit, revise) and outcomes (decisions).
entry_history = Table(
    "entry_history", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("entry_id", String(36), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("action", String(40), nullable=False),
    Column("actor", String(18), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("snapshot", JSON, nullable=False),
)

evidence = Table(
    "evidence", metadata,
    Column("evidence_id", String(36), primary_key=True),
    Column("employee_id", String(18), nullable=False, index=True),
    Column("entry_id", String(36), nullable=True, index=True),
    Column("sha256", String(64), nullable=False),
    Column("mime", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("filename", String(300), nullable=False),
    Column("storage_key", String(300), nullable=False),
    Column("uploaded_at", DateTime(timezone=True), nullable=False),
)

# Verifications that arrived before their decision (another topic, so no order between them): applied
# as soon as that decision is.
pending_verifications = Table(
    "pending_verifications", metadata,
    Column("decision_id", String(64), primary_key=True),
    Column("entry_id", String(36), nullable=False),
    Column("data", JSON, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

# Projection of approvals.month.closed: a unit's closed month locks its entries.
closed_months = Table(
    "closed_months", metadata,
    Column("unit_id", String(64), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("closed_by", String(18), nullable=False),
    Column("closed_at", DateTime(timezone=True), nullable=False),
)

# Projection of approvals.verifier.assigned: the units whose records a verifier may read.
verifier_units = add_verifier_units_table(metadata)
outbox, inbox = add_messaging_tables(metadata)
add_revoked_sessions_table(metadata)
