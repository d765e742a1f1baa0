"""The attendance service's tables: devices and their raw uploads, punches, days, absences, projections."""
from sqlalchemy import (JSON, BigInteger, Boolean, Column, Date, DateTime, Float, Index, Integer, LargeBinary,
                        MetaData, String, Table, Text, UniqueConstraint, false, text)

from runtime.access import add_verifier_units_table
from runtime.messaging import add_messaging_tables
from runtime.revocation import add_revoked_sessions_table

metadata = MetaData()
_ID = BigInteger().with_variant(Integer, "sqlite")

devices = Table(
    "devices", metadata,
    Column("device_serial", String(64), primary_key=True),
    Column("state", String(10), nullable=False),  # pending, approved, disabled
    Column("zone", String(40), nullable=True),
    Column("last_seen_at", DateTime(timezone=True), nullable=True),
    Column("remote_addr", String(64), nullable=True),
    Column("attlog_stamp", BigInteger, nullable=False, server_default="0"),
    Column("operlog_stamp", BigInteger, nullable=False, server_default="0"),
    # the stamps of firmware that counts in dates (`Stamp=2008-02-25T12:08:21`), sent back as they came
    Column("attlog_stamp_text", String(20), nullable=True),
    Column("operlog_stamp_text", String(20), nullable=True),
    Column("options", JSON, nullable=False),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("approved_at", DateTime(timezone=True), nullable=True),
    Column("approved_by", String(18), nullable=True),
    # set by an admin: the source networks (CIDR list) the device may call from (null: any), and the
    # SHA-256 digest of the `pushcommkey` its firmware sends on the handshake (null: none checked)
    Column("allowed_networks", JSON, nullable=True),
    Column("comm_key_digest", String(64), nullable=True),
)

raw_uploads = Table(
    "raw_uploads", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("device_serial", String(64), nullable=False),
    # ATTLOG, OPERLOG, RTLOG, ATTPHOTO, TABLEDATA.USER, QUERYDATA.BIODATA, ... or a table we do not know
    Column("table_name", String(40), nullable=False),
    Column("stamp", String(20), nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("body", LargeBinary, nullable=False),
    # null while pending: until the ingest job has turned it into punches (and while its device awaits approval)
    Column("processed_at", DateTime(timezone=True), nullable=True),
    Index("ix_raw_uploads_unprocessed", "device_serial", "processed_at", "id"),
    Index("ix_raw_uploads_device_table", "device_serial", "table_name", "id"),  # per-table views of a device
    Index("ix_raw_uploads_pending", "id", postgresql_where=text("processed_at IS NULL"),
          sqlite_where=text("processed_at IS NULL")),
)

punches = Table(
    "punches", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("device_serial", String(64), nullable=True),  # null for an API punch given by employee id
    Column("pin", String(32), nullable=True),
    Column("sequence", BigInteger, nullable=True),
    Column("employee_id", String(18), nullable=True),  # null until the enrolment arrives
    Column("source", String(10), nullable=False),  # adms, api
    Column("origin", String(40), nullable=True),  # an API client's own label: mobile, geofence, vendor-x
    Column("at", DateTime(timezone=True), nullable=False),
    Column("local_time", DateTime(timezone=False), nullable=False),
    Column("zone", String(40), nullable=False),
    Column("local_date", Date, nullable=False),
    Column("device_status", Integer, nullable=True),
    Column("verify", Integer, nullable=True),
    Column("upload_id", BigInteger, nullable=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    # set when the punch must not count (a phone check-in its employee's supervisor rejected): kept, not deleted
    Column("voided_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("device_serial", "pin", "local_time", name="uq_punches_serial_pin_time"),
    Index("uq_punches_serial_sequence", "device_serial", "sequence", unique=True,
          postgresql_where=text("sequence IS NOT NULL"), sqlite_where=text("sequence IS NOT NULL")),
    Index("uq_punches_employee_at", "employee_id", "at", unique=True,
          postgresql_where=text("device_serial IS NULL"), sqlite_where=text("device_serial IS NULL")),
    Index("ix_punches_employee_at", "employee_id", "at"),
    Index("ix_punches_unmatched", "device_serial", "pin", postgresql_where=text("employee_id IS NULL"),
          sqlite_where=text("employee_id IS NULL")),
)

rejected_lines = Table(
    "rejected_lines", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("upload_id", BigInteger, nullable=True, index=True),  # null for a JSON API item
    Column("line_no", Integer, nullable=False),
    Column("raw", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("rejected_at", DateTime(timezone=True), nullable=False),
)

device_users = Table(
    "device_users", metadata,
    Column("device_serial", String(64), primary_key=True),
    Column("pin", String(32), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("privilege", Integer, nullable=False),
    Column("card", String(64), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

device_templates = Table(
    # Biometric data the device holds (fingerprint, face, unified 3.x templates, user photos): opaque blobs,
    # never shown by the API (only which kinds each PIN has), kept to re-enrol a replaced machine.
    "device_templates", metadata,
    Column("device_serial", String(64), primary_key=True),
    Column("pin", String(32), primary_key=True),
    Column("kind", String(20), primary_key=True),
    Column("index", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

punch_photos = Table(
    # ATTPHOTO: the photo a device took at a punch, the punch's evidence (joined on device, PIN, local time).
    "punch_photos", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("device_serial", String(64), nullable=False),
    Column("pin", String(32), nullable=False),
    Column("local_time", DateTime(timezone=False), nullable=False),
    Column("photo", LargeBinary, nullable=False),
    Column("upload_id", BigInteger, nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("device_serial", "pin", "local_time", name="uq_punch_photos_serial_pin_time"),
)

device_commands = Table(
    "device_commands", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("device_serial", String(64), nullable=False),
    Column("command", Text, nullable=False),
    Column("state", String(10), nullable=False),  # queued, sent, done, failed
    Column("return_code", Integer, nullable=True),
    Column("result", Text, nullable=True),  # what the device sent with its answer (INFO's options, ...)
    Column("requested_by", String(18), nullable=True),  # null for commands the service queued itself
    Column("queued_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("answered_at", DateTime(timezone=True), nullable=True),
    Index("ix_device_commands_queue", "device_serial", "state", "id"),
)

absences = Table(
    "absences", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("employee_id", String(18), nullable=False, index=True),
    Column("kind", String(12), nullable=False),  # leave, sick, duty (dinas luar), permission (izin)
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("reference", String(200), nullable=True),  # e.g. the assignment letter (surat tugas) of a duty
    Column("recorded_by", String(18), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

days = Table(
    "days", metadata,
    Column("employee_id", String(18), primary_key=True),
    Column("local_date", Date, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("status", String(12), nullable=False),
    Column("content", JSON, nullable=False),  # the day as published (DayBuiltSchema), without version/correction
    Column("correction", Boolean, nullable=False),
    Column("built_at", DateTime(timezone=True), nullable=False),
)

closed_dates = Table(
    # Local dates whose day has been built for every active employee (absent ones included).
    "closed_dates", metadata,
    Column("local_date", Date, primary_key=True),
    Column("closed_at", DateTime(timezone=True), nullable=False),
    Column("employees", Integer, nullable=False),
)

closed_months = Table(
    "closed_months", metadata,
    Column("unit_id", String(64), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("month", Integer, primary_key=True),
    Column("closed_at", DateTime(timezone=True), nullable=False),
)

employees = Table(
    "employees", metadata,
    Column("employee_id", String(18), primary_key=True),
    Column("unit_id", String(64), nullable=False),
    Column("zone", String(40), nullable=False),
    Column("schedule_id", String(64), nullable=True),
    Column("supervisor_id", String(18), nullable=True, index=True),
    Column("acting_supervisor_id", String(18), nullable=True, index=True),
    Column("active", Boolean, nullable=False),
    Column("work_anywhere", Boolean, nullable=False, server_default=false()),  # no fence applies to their check-ins
)

schedules = Table(
    "schedules", metadata,
    Column("schedule_id", String(64), primary_key=True),
    Column("definition", JSON, nullable=False),  # the directory's ScheduleSchema shape
    Column("active", Boolean, nullable=False),
)

holidays = Table(
    "holidays", metadata,
    Column("date", Date, primary_key=True),
    Column("name", String(300), nullable=False),
    Column("active", Boolean, nullable=False),
)

enrolments = Table(
    "enrolments", metadata,
    Column("device_serial", String(64), primary_key=True),
    Column("pin", String(32), primary_key=True),
    Column("employee_id", String(18), nullable=False, index=True),
    Column("name", String(300), nullable=False),
    Column("active", Boolean, nullable=False),
)

# A check-in from a phone (a punch of source `mobile`): where it was against the unit's fences, why it is
# doubtful, and the supervisor's review. The raw coordinates are cleared after the policy's
# `keep_coordinates_days`; the verdict, the distance and the doubts stay as the punch's evidence.
checkins = Table(
    "checkins", metadata,
    Column("punch_id", _ID, primary_key=True),
    Column("employee_id", String(18), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("local_date", Date, nullable=False),
    Column("device_time", DateTime(timezone=True), nullable=True),
    Column("latitude", Float, nullable=True),
    Column("longitude", Float, nullable=True),
    Column("accuracy_m", Float, nullable=False),
    Column("coordinates_until", DateTime(timezone=True), nullable=True),
    Column("fence_id", String(64), nullable=True),
    Column("inside", Boolean, nullable=False),
    Column("distance_m", Float, nullable=True),
    Column("exempt", Boolean, nullable=False),
    Column("photo_sha256", String(64), nullable=False, index=True),
    Column("photo", LargeBinary, nullable=False),
    Column("photo_type", String(40), nullable=False),
    Column("doubts", JSON, nullable=False),
    Column("review", String(10), nullable=False),  # none (no doubt), pending, confirmed, rejected
    Column("reviewed_by", String(18), nullable=True),
    Column("reviewed_at", DateTime(timezone=True), nullable=True),
    Column("review_reason", Text, nullable=True),
    Index("ix_checkins_employee_at", "employee_id", "at"),
    Index("ix_checkins_pending", "review", "employee_id"),
    Index("ix_checkins_coordinates_until", "coordinates_until"),
)

geofences = Table(  # projection of directory.geofence.upserted
    "geofences", metadata,
    Column("fence_id", String(64), primary_key=True),
    Column("unit_id", String(64), nullable=False, index=True),
    Column("kind", String(10), nullable=False),
    Column("latitude", Float, nullable=True),
    Column("longitude", Float, nullable=True),
    Column("radius_m", Float, nullable=True),
    Column("vertices", JSON, nullable=True),
    Column("active", Boolean, nullable=False),
)

verifier_units = add_verifier_units_table(metadata)  # approvals' assignments: whose punches a verifier reads
outbox, inbox = add_messaging_tables(metadata)
add_revoked_sessions_table(metadata)
