"""The payroll service's tables: projections of the directory and scoring, its own records, runs and payslips."""
from sqlalchemy import (JSON, BigInteger, Boolean, Column, Date, DateTime, Index, Integer, MetaData, Numeric, String, Table,
                        UniqueConstraint, text)

from runtime.audit_chain import AuditStream, chain_columns
from runtime.messaging import add_messaging_tables
from runtime.revocation import add_revoked_sessions_table

metadata = MetaData()

# --- projections of other services' events -------------------------------------------------------------

units = Table(
    "units", metadata,
    Column("unit_id", String(64), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

positions = Table(
    "positions", metadata,
    Column("position_id", String(64), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("job_class", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

employees = Table(
    "employees", metadata,
    Column("employee_id", String(18), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("unit_id", String(64), nullable=False),
    Column("position_id", String(64), nullable=True),
    Column("status", String(8), nullable=False),
    Column("zone", String(40), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# The latest version of each employee's scored month (`scoring.month.scored`); older versions are ignored.
scored_months = Table(
    "scored_months", metadata,
    Column("employee_id", String(18), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("month", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("unit_id", String(64), nullable=False),
    Column("activity_score", Numeric(9, 4), nullable=False),
    Column("target_score", Numeric(9, 4), nullable=True),
    Column("behaviour_score", Numeric(9, 4), nullable=True),
    Column("overtime_hours", Numeric(9, 2), nullable=True),
    Column("predicate", String(40), nullable=False),
    # The activity score's minutes (None: scored before payroll kept them), for `[payroll.precision] score = "exact"`.
    Column("credited_minutes", Integer, nullable=True),
    Column("effective_minutes", Integer, nullable=True),
    Column("days", JSON, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("received_local_date", Date, nullable=False),
    Column("zone", String(40), nullable=False),
    Index("ix_scored_months_period", "year", "month"),
)

# Why a scored month was re-scored (`cause` of `scoring.month.scored`), by version: a correction's payslip line
# names the causes between the version paid and the one it pays.
score_causes = Table(
    "score_causes", metadata,
    Column("employee_id", String(18), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("month", Integer, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("cause", String(500), nullable=False),
)

# --- payroll's own records -----------------------------------------------------------------------------

# The golongan (grade) for tax: the directory does not carry it, so finance records it here.
grades = Table(
    "grades", metadata,
    Column("employee_id", String(18), primary_key=True),
    Column("grade", String(10), nullable=False),
    Column("updated_by", String(18), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

sanctions = Table(
    "sanctions", metadata,
    Column("employee_id", String(18), primary_key=True),
    Column("level", String(16), nullable=False),
    Column("start_year", Integer, nullable=False),
    Column("start_month", Integer, nullable=False),
    Column("months", Integer, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("updated_by", String(18), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

bank_accounts = Table(
    "bank_accounts", metadata,
    Column("employee_id", String(18), primary_key=True),
    Column("bank_code", String(20), nullable=False),
    Column("bank_account", String(40), nullable=False),
    Column("updated_by", String(18), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

budgets = Table(
    "budgets", metadata,
    Column("unit_id", String(64), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("month", Integer, primary_key=True),
    Column("amount", BigInteger, nullable=False),
    Column("updated_by", String(18), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# --- runs and payslips ---------------------------------------------------------------------------------

runs = Table(
    "runs", metadata,
    Column("run_id", String(36), primary_key=True),
    Column("organisation", String(300), nullable=False),
    Column("year", Integer, nullable=False),
    Column("month", Integer, nullable=False),
    Column("state", String(12), nullable=False),
    Column("employees", Integer, nullable=False),
    Column("gross_total", BigInteger, nullable=False),
    Column("net_total", BigInteger, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("skipped", JSON, nullable=False),
    Column("late_corrections", JSON, nullable=False),  # corrections received after their cut-off: a later run pays them
    # Payslips priced without a component's figure (no targets assessed, behaviour not rated): who must act.
    Column("incomplete", JSON, nullable=False, server_default=text("'[]'")),
    Column("drafted_by", String(18), nullable=False),
    Column("drafted_at", DateTime(timezone=True), nullable=False),
    Column("computed_by", String(18), nullable=False),
    Column("computed_at", DateTime(timezone=True), nullable=False),
    Column("reviewed_by", String(18), nullable=True),
    Column("reviewed_at", DateTime(timezone=True), nullable=True),
    Column("approved_by", String(18), nullable=True),
    Column("approved_at", DateTime(timezone=True), nullable=True),
    Column("approved_hash", String(64), nullable=True),
    Column("paid_by", String(18), nullable=True),
    Column("paid_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("organisation", "year", "month", name="uq_runs_period"),
)

payslips = Table(
    "payslips", metadata,
    Column("run_id", String(36), primary_key=True),
    Column("employee_id", String(18), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("unit_id", String(64), nullable=False, index=True),
    Column("year", Integer, nullable=False),
    Column("month", Integer, nullable=False),
    Column("score_version", Integer, nullable=False),
    Column("gross", BigInteger, nullable=False),
    Column("net", BigInteger, nullable=False),
    Column("lines", JSON, nullable=False),
    Column("facts", JSON, nullable=False),
    Index("ix_payslips_employee_period", "employee_id", "year", "month"),
)

# A correction of an approved month carried into a later run: the month's net went from `from_net` to
# `to_net` when its scores went to version `to_version`.
adjustments = Table(
    "adjustments", metadata,
    Column("run_id", String(36), primary_key=True),
    Column("employee_id", String(18), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("month", Integer, primary_key=True),
    Column("from_version", Integer, nullable=False),
    Column("to_version", Integer, nullable=False),
    Column("from_net", BigInteger, nullable=False),
    Column("to_net", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("description", String(500), nullable=False),
    Index("ix_adjustments_source", "employee_id", "year", "month"),
)

# The payroll audit stream: one record per approval and payment of a run, carrying the content hash of its
# payslips (lines and totals, canonical). Append-only and hash-chained (runtime.audit_chain); `kinerja audit
# verify` also recomputes each recorded run's hash from its payslip rows, so a later edit of them shows.
audit = Table(
    "audit", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(18), nullable=False),
    Column("action", String(40), nullable=False),
    Column("run_id", String(36), nullable=False, index=True),
    Column("organisation", String(300), nullable=False),
    Column("year", Integer, nullable=False),
    Column("month", Integer, nullable=False),
    Column("employees", Integer, nullable=False),
    Column("gross_total", BigInteger, nullable=False),
    Column("net_total", BigInteger, nullable=False),
    Column("content_hash", String(64), nullable=False),
    *chain_columns(),
)

AUDIT_STREAMS = (AuditStream("payroll.audit", audit, ("at", "actor", "action", "run_id", "organisation", "year",
                                                      "month", "employees", "gross_total", "net_total",
                                                      "content_hash"),
                             check="payroll.handlers:audited_run_changed"),)

outbox, inbox = add_messaging_tables(metadata)
add_revoked_sessions_table(metadata)
