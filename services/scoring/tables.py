"""Scoring's tables: projections of other services' events, cross-check flags, ratings and monthly scores."""
from sqlalchemy import (JSON, Boolean, Column, Date, DateTime, Index, Integer, MetaData, Numeric, PrimaryKeyConstraint,
                        String, Table, Text)

from runtime.access import add_verifier_units_table
from runtime.messaging import add_messaging_tables
from runtime.revocation import add_revoked_sessions_table

metadata = MetaData()

# --- projections -------------------------------------------------------------------------------------------

# What a month's score reads of a day besides its key (`handlers._UNSCORED` is the rest).
DAY_SCORED = ("status", "scheduled_minutes", "overtime_minutes", "late_band", "early_band", "missing_clock_in",
              "missing_clock_out", "absence_kind")

days = Table(
    "days", metadata,  # the latest version of each attendance day (attendance.day.built)
    Column("employee_id", String(18), nullable=False),
    Column("local_date", Date, nullable=False),
    Column("zone", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("scheduled_start", DateTime(timezone=True), nullable=True),
    Column("scheduled_end", DateTime(timezone=True), nullable=True),
    Column("scheduled_minutes", Integer, nullable=False),
    Column("clock_in", DateTime(timezone=True), nullable=True),
    Column("clock_out", DateTime(timezone=True), nullable=True),
    Column("presence_minutes", Integer, nullable=False),
    Column("late_minutes", Integer, nullable=False),
    Column("early_leave_minutes", Integer, nullable=False),
    Column("overtime_minutes", Integer, nullable=False),
    Column("late_band", String(8), nullable=True),
    Column("early_band", String(8), nullable=True),
    Column("missing_clock_in", Boolean, nullable=False),
    Column("missing_clock_out", Boolean, nullable=False),
    Column("punch_ids", JSON, nullable=False),
    Column("absence_kind", String(20), nullable=True),
    Column("absence_reference", String(200), nullable=True),
    Column("correction", Boolean, nullable=False, default=False),
    Column("doubtful_punches", JSON, nullable=True),  # check-ins from a phone awaiting review: [{punch_id, doubts}]
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # The key covers what a month's score reads of a day: a unit's close reads its days from the index alone. (A
    # second index of the same key did that before; every day written paid for both.)
    PrimaryKeyConstraint("employee_id", "local_date", name="days_pkey", postgresql_include=DAY_SCORED),
)

entries = Table(
    "entries", metadata,  # the latest version of each activity entry (activities.entry.*)
    Column("entry_id", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("employee_id", String(18), nullable=False),
    Column("unit_id", String(64), nullable=True),
    Column("position_id", String(64), nullable=True),
    Column("local_date", Date, nullable=False),
    Column("zone", String(40), nullable=False),
    Column("start_at", DateTime(timezone=True), nullable=False),
    Column("end_at", DateTime(timezone=True), nullable=False),
    Column("catalogue_item_id", String(64), nullable=True),
    Column("quantity", Integer, nullable=False),
    Column("norm_minutes", Integer, nullable=True),
    Column("duration_minutes", Integer, nullable=False),
    Column("credited_minutes", Integer, nullable=False),
    Column("state", String(20), nullable=False),
    # The entry as things stand with its decision and verification (`handlers._standing_query`), resolved when
    # either changes, so the readers (a month close reads ~110 entries per employee) need no join.
    Column("standing_state", String(20), nullable=True),
    Column("standing_verified", Boolean, nullable=True),
    Column("standing_creditable", Boolean, nullable=True),
    Column("standing_credited_minutes", Integer, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # Covering how entries stand: a unit's month close tallies them from the index alone (PostgreSQL).
    Index("ix_entries_employee_date", "employee_id", "local_date",
          postgresql_include=["standing_state", "standing_verified", "standing_creditable",
                              "standing_credited_minutes"]),
    Index("ix_entries_date", "local_date"),
)

entry_decisions = Table(
    "entry_decisions", metadata,  # the latest supervisor decision on an entry and its verification, if any
    Column("entry_id", String(64), primary_key=True),
    Column("employee_id", String(18), nullable=False, index=True),
    Column("decision_id", String(64), nullable=False),
    Column("entry_version", Integer, nullable=False),
    Column("action", String(20), nullable=False),
    Column("state", String(20), nullable=False),
    Column("credited_minutes", Integer, nullable=False),
    Column("creditable", Boolean, nullable=False),
    Column("sampled", Boolean, nullable=False),
    Column("decider_id", String(18), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("verification_id", String(64), nullable=True),
    Column("verdict", String(20), nullable=True),
    Column("verified", Boolean, nullable=True),
    Column("verified_state", String(20), nullable=True),
    Column("verified_credited_minutes", Integer, nullable=True),
    Column("verified_creditable", Boolean, nullable=True),
    Column("verified_at", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

employees = Table(
    "employees", metadata,  # directory.employee.upserted, without names: scoring needs none
    Column("employee_id", String(18), primary_key=True),
    Column("unit_id", String(64), nullable=False, index=True),
    Column("position_id", String(64), nullable=True),
    Column("supervisor_id", String(18), nullable=True, index=True),
    Column("acting_supervisor_id", String(18), nullable=True, index=True),
    Column("status", String(8), nullable=False),
    Column("zone", String(40), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

units = Table(
    "units", metadata,  # directory.unit.upserted: names for posture and public tables
    Column("unit_id", String(64), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

positions = Table(
    "positions", metadata,  # directory.position.upserted
    Column("position_id", String(64), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("job_class", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("unit_id", String(64), nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

holidays = Table(
    "holidays", metadata,  # directory.holiday.upserted
    Column("date", Date, primary_key=True),
    Column("name", String(300), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# --- scoring's own state -----------------------------------------------------------------------------------

flags = Table(
    "flags", metadata,  # one row per flag key; state open | cleared (by a decision) | resolved (by later data)
    Column("flag_key", String(400), primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("employee_id", String(18), nullable=False),
    Column("local_date", Date, nullable=False),
    Column("message", Text, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("state", String(10), nullable=False),
    Column("raised_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    Column("resolution", Text, nullable=True),
    Column("cleared_by", String(18), nullable=True),
    Index("ix_flags_employee_date", "employee_id", "local_date"),
    Index("ix_flags_date_state", "local_date", "state"),
)

behaviour_ratings = Table(
    "behaviour_ratings", metadata,  # the supervisor's BerAKHLAK rating of one employee for one month
    Column("employee_id", String(18), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("month", Integer, primary_key=True),
    Column("ratings", JSON, nullable=False),
    Column("has_innovation", Boolean, nullable=False, default=False),
    Column("level", String(10), nullable=False),
    Column("average", Numeric(6, 2), nullable=False),
    Column("rated_by", String(18), nullable=False),
    Column("rated_at", DateTime(timezone=True), nullable=False),
)

targets = Table(
    # One employee's monthly SKP targets, set by their approver, and what was realised once assessed.
    "targets", metadata,
    Column("target_id", String(36), primary_key=True),
    Column("employee_id", String(18), nullable=False),
    Column("year", Integer, nullable=False),
    Column("month", Integer, nullable=False),
    Column("position", Integer, nullable=False),  # the order the supervisor listed them in
    Column("output", String(300), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("output_unit", String(60), nullable=False),
    Column("weight", Integer, nullable=False),
    Column("quality", Numeric(6, 2), nullable=True),
    Column("time_days", Integer, nullable=True),
    Column("catalogue_item_id", String(64), nullable=True),
    Column("realised_quantity", Integer, nullable=True),
    Column("realised_quality", Numeric(6, 2), nullable=True),
    Column("realised_days", Integer, nullable=True),
    Column("set_by", String(18), nullable=False),
    Column("set_at", DateTime(timezone=True), nullable=False),
    Column("assessed_by", String(18), nullable=True),
    Column("assessed_at", DateTime(timezone=True), nullable=True),
    Index("ix_targets_employee_period", "employee_id", "year", "month"),
)

unit_ratings = Table(
    "unit_ratings", metadata,  # the unit's own predicate for a year: it limits its staff's predicate distribution
    Column("unit_id", String(64), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("rating", String(40), nullable=False),
    Column("set_by", String(18), nullable=False),
    Column("set_at", DateTime(timezone=True), nullable=False),
)

month_closures = Table(
    "month_closures", metadata,  # approvals.month.closed: a unit's month that has been scored
    Column("unit_id", String(64), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("month", Integer, primary_key=True),
    Column("closed_by", String(18), nullable=False),
    Column("closed_at", DateTime(timezone=True), nullable=False),
    Column("scored_at", DateTime(timezone=True), nullable=False),
    Column("employees", Integer, nullable=False),
    Column("violations", JSON, nullable=False),  # the predicate distribution against the unit's rating
)

month_scores = Table(
    "month_scores", metadata,  # the latest scored version of one employee's month, with its breakdown
    Column("employee_id", String(18), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("month", Integer, primary_key=True),
    Column("unit_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("activity_score", Numeric(7, 2), nullable=False),
    Column("discipline_score", Numeric(7, 2), nullable=False),
    Column("behaviour_level", String(10), nullable=True),
    Column("behaviour_score", Numeric(7, 2), nullable=True),
    Column("target_score", Numeric(7, 2), nullable=True),
    Column("overtime_hours", Numeric(7, 2), nullable=True),
    Column("predicate", String(40), nullable=False),
    Column("rated", Boolean, nullable=False),
    Column("effective_minutes", Integer, nullable=False),
    Column("credited_minutes", Integer, nullable=False),
    Column("days", JSON, nullable=False),
    Column("breakdown", JSON, nullable=False),
    Column("content_hash", String(64), nullable=False),  # a re-score that changes nothing publishes nothing
    Column("scored_at", DateTime(timezone=True), nullable=False),
    Index("ix_month_scores_unit_period", "unit_id", "year", "month"),
)

# Projection of approvals.verifier.assigned: the units whose people a verifier may read.
verifier_units = add_verifier_units_table(metadata)
outbox, inbox = add_messaging_tables(metadata)
add_revoked_sessions_table(metadata)
