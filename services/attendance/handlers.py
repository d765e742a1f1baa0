"""The attendance service's use cases: the only code that touches its tables and publishes its events.

Device uploads (ADMS): the request path only touches the device (one upsert) and stores the raw body as a
pending upload, parsing it just enough to count its valid records; the reply `OK: <n>` is sent after that
commit. `process_pending` (run by the `kinerja work attendance` job, see `jobs.py`) claims pending uploads
in batches and, in one transaction per batch, stores their punches (set-based
`INSERT ... ON CONFLICT DO NOTHING`, so re-sent records add nothing), their rejected lines, and one
`attendance.punch.recorded` outbox row per new matched punch. JSON punches are stored synchronously.
Building days is not on either path: the service's own consumer consumes `attendance.punch.recorded`
(keyed by employee, so per-employee order holds) and rebuilds the days around each punch
(`on_punch_recorded`). Absences and `build_days_for_date` build days directly.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, text, update
from marshmallow import ValidationError
from sqlalchemy.orm import Session

from attendance import tables
from attendance.domain import adms
from attendance.domain.days import Absence, AttendanceDay, Punch, assign_punches, build_day, local_time_to_utc
from attendance.domain.policy import AttendancePolicy
from attendance.domain.schedule import default_schedule, planned_shift, schedule_from_dict
from contracts.attendance import DayBuiltSchema, PunchRecordedSchema
from contracts.directory import ZONES
from runtime.db import upsert_row
from runtime.events import Event, InvalidEvent, make_event, topic_of
from runtime.messaging import publish
from runtime.problems import Problem

PRODUCER = "attendance"
PUNCH_RECORDED = "attendance.punch.recorded"
SERVER_VERSION = "kinerja-attendance/1.0"
SERIAL = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MAX_COMMANDS_PER_POLL = 20
APPROVAL_CHUNK = 200  # uploads processed per pass when a device is approved
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class AttendanceConfig:
    """What the use cases need besides the database: the regional policy and the service's settings."""

    policy: AttendancePolicy
    default_zone: str = "Asia/Jakarta"  # a device's zone until an admin sets it
    silent_minutes: int = 30  # an approved device not heard from this long during working hours is silent
    close_day_after_hours: int = 12  # a local date is built for everyone this long after it ends (night shifts)


class DeviceRefused(Exception):
    """A device that may not talk to the server (disabled); the message says why."""


@dataclass(frozen=True)
class UploadReply:
    """The text answering a device's upload, sent only after the commit."""

    text: str
    accepted: int


# --- devices --------------------------------------------------------------------------------------------

def valid_serial(serial: str | None) -> str:
    """The serial number, or DeviceRefused when it is missing or not a plain serial."""
    if not serial or not SERIAL.fullmatch(serial):
        raise DeviceRefused("SN is missing or not 1 to 64 letters, digits, '_', '.', '-'")
    return serial


def _device(session: Session, serial: str, lock: bool = False):
    query = select(tables.devices).where(tables.devices.c.device_serial == serial)
    if lock and session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    return session.execute(query).first()


def _device_event(event_type: str, row) -> Event:
    return make_event(event_type, row.device_serial, {
        "device_serial": row.device_serial, "state": row.state, "zone": row.zone,
        "last_seen_at": _iso(row.last_seen_at), "remote_addr": row.remote_addr,
    }, PRODUCER)


def _insert_ignoring_conflicts(session: Session, table, rows=None):
    """A dialect's `INSERT ... ON CONFLICT DO NOTHING` (PostgreSQL in production, SQLite locally).

    Without `rows`, the statement is meant for executemany: SQLAlchemy then sends one multi-row INSERT per
    batch from a cached compiled statement.
    """
    if session.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    statement = dialect_insert(table)
    return (statement if rows is None else statement.values(rows)).on_conflict_do_nothing()


def touch_device(session: Session, serial: str, remote_addr: str | None, now: datetime, config: AttendanceConfig,
                 stamps: dict[str, int] | None = None, upload: dict | None = None):
    """Record a device's contact (an unknown serial becomes a pending device); return its row.

    `stamps` (`attlog_stamp` / `operlog_stamp`) only ever move forward. With `upload` (`table_name`,
    `stamp`, `body`) the raw upload is stored too, unless the device is disabled. On PostgreSQL all of it
    is one statement (`_TOUCH_SQL`). `attendance.device.seen` is published on first contact and when a
    device speaks again after being silent longer than `silent_minutes`; a disabled device is refused
    (the caller rolls back).
    """
    serial = valid_serial(serial)
    stamps = stamps or {}
    addr = (remote_addr or "")[:64] or None
    if session.bind.dialect.name == "postgresql":
        row = session.execute(_touch_sql(), {
            "serial": serial, "now": now, "addr": addr, "attlog_stamp": stamps.get("attlog_stamp", 0),
            "operlog_stamp": stamps.get("operlog_stamp", 0), "store": upload is not None,
            **(upload or {"table_name": None, "stamp": None, "body": None})}).one()
        previous = row.previous_seen_at
    else:
        row, previous = _touch_portable(session, serial, addr, now, stamps)
        if upload is not None and row.state != "disabled":
            session.execute(insert(tables.raw_uploads).values(device_serial=serial, received_at=now, **upload))
    if row.state == "disabled":
        raise DeviceRefused(f"device {serial} is disabled")
    if previous is None or now - _aware(previous) > timedelta(minutes=config.silent_minutes):
        publish(session, _device_event("attendance.device.seen", row))
    return row


# One round trip for a device's contact on PostgreSQL: the upsert of the device (stamps only move
# forward), its last contact before this one (`before` reads the statement's snapshot), and the raw
# upload when there is one. Every sub-statement sees the same snapshot; all commit or roll back together.
_TOUCH_SQL = """
WITH before AS (SELECT last_seen_at FROM devices WHERE device_serial = :serial),
device AS (
    INSERT INTO devices AS d (device_serial, state, zone, options, first_seen_at, last_seen_at, remote_addr,
                              attlog_stamp, operlog_stamp)
    VALUES (:serial, 'pending', NULL, '{}', :now, :now, :addr, :attlog_stamp, :operlog_stamp)
    ON CONFLICT (device_serial) DO UPDATE SET
        last_seen_at = EXCLUDED.last_seen_at, remote_addr = EXCLUDED.remote_addr,
        attlog_stamp = GREATEST(d.attlog_stamp, EXCLUDED.attlog_stamp),
        operlog_stamp = GREATEST(d.operlog_stamp, EXCLUDED.operlog_stamp)
    RETURNING d.device_serial, d.state, d.zone, d.last_seen_at, d.remote_addr, d.attlog_stamp, d.operlog_stamp,
              d.options, d.first_seen_at, d.approved_at, d.approved_by
),
upload AS (
    INSERT INTO raw_uploads (device_serial, table_name, stamp, received_at, body)
    SELECT device_serial, CAST(:table_name AS varchar), CAST(:stamp AS varchar), :now, CAST(:body AS bytea)
    FROM device WHERE CAST(:store AS boolean) AND state <> 'disabled'
    RETURNING id
)
SELECT device.*, (SELECT last_seen_at FROM before) AS previous_seen_at, (SELECT id FROM upload) AS upload_id
FROM device
"""


@functools.cache
def _touch_sql():
    return text(_TOUCH_SQL)


def _touch_portable(session: Session, serial: str, addr: str | None, now: datetime, stamps: dict[str, int]):
    """The device part of `_TOUCH_SQL` in several statements (SQLite, for local runs)."""
    session.execute(_insert_ignoring_conflicts(session, tables.devices, [{
        "device_serial": serial, "state": "pending", "zone": None, "options": {}, "first_seen_at": now,
        "attlog_stamp": 0, "operlog_stamp": 0,
    }]))
    current = _device(session, serial, lock=True)
    values = {"last_seen_at": now, "remote_addr": addr}
    for column, stamp in stamps.items():
        values[column] = func.max(tables.devices.c[column], stamp)
    session.execute(update(tables.devices).where(tables.devices.c.device_serial == serial).values(values))
    return _device(session, serial), current.last_seen_at


def _zone(row, config: AttendanceConfig) -> str:
    return row.zone or config.default_zone


def handshake(session: Session, serial: str, remote_addr: str | None, now: datetime,
              config: AttendanceConfig) -> str:
    """The option block answering `GET /iclock/cdata?options=all`, with this device's stamps and time zone."""
    row = touch_device(session, serial, remote_addr, now, config)
    offset = ZoneInfo(_zone(row, config)).utcoffset(now.replace(tzinfo=None)) // timedelta(minutes=1)
    return adms.render_handshake(row.device_serial, {"ATTLOG": row.attlog_stamp, "OPERLOG": row.operlog_stamp},
                                 offset, SERVER_VERSION)


_STAMP_COLUMNS = {"ATTLOG": "attlog_stamp", "OPERLOG": "operlog_stamp"}


def receive_upload(session: Session, serial: str, table: str, stamp: str | None, body: bytes,
                   remote_addr: str | None, now: datetime, config: AttendanceConfig) -> UploadReply:
    """Store one `POST /iclock/cdata?table=...` body as a pending upload; return the reply for after the commit.

    The request path only touches the device (stamp included) and keeps the raw ATTLOG or OPERLOG body
    with `processed_at` null; `process_pending` (the `kinerja work attendance` job) turns it into punches
    later, and only once the device is approved. The body is parsed here only to count its valid records
    (new or already stored) for `OK: <n>`; rejected lines are never counted.
    """
    table = (table or "").upper()
    column = _STAMP_COLUMNS.get(table)
    if table == "ATTLOG":
        accepted = count_attlog(body)
    elif table == "OPERLOG":
        operlog = adms.parse_operlog(body)
        accepted = len(operlog.operations) + len(operlog.users) + len(operlog.fingerprints)
    else:
        accepted = 0
    stamps = {column: int(stamp)} if column and _plain_number(stamp) else None
    upload = {"table_name": table, "stamp": (stamp or "")[:20] or None, "body": body} if column else None
    row = touch_device(session, serial, remote_addr, now, config, stamps, upload)
    if table == "OPTIONS":
        options = dict(row.options or {}, **adms.parse_options(body))
        session.execute(update(tables.devices).where(tables.devices.c.device_serial == row.device_serial)
                        .values(options=options))
        return UploadReply("OK", 0)
    if column is None:
        return UploadReply("OK", 0)  # ATTPHOTO and others: we never asked for them and keep nothing
    return UploadReply(f"OK: {accepted}", accepted)


# The plain form of an ATTLOG line (ASCII; PIN, time, status, verify, then up to six plain fields, the
# 11th a sequence number): every line of this form is one `adms.parse_attlog` accepts.
_PLAIN_ATTLOG_LINE = re.compile(
    rb"[0-9A-Za-z]{1,24}\t(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})\t-?\d{1,9}\t-?\d{1,9}"
    rb"\t[0-9A-Za-z]*(?:\t[0-9A-Za-z]*){0,5}(?:\t\d{0,18})?")


def count_attlog(body: bytes) -> int:
    """How many valid records an ATTLOG body holds, exactly as `adms.parse_attlog` counts them (repeats included).

    The reply `OK: <n>` needs only this count, not the records: when every line has the plain form a
    device sends, counting is a match and a date check per line; anything else is left to the parser.
    """
    count = 0
    plain = _PLAIN_ATTLOG_LINE.fullmatch
    for raw in body.split(b"\n"):
        raw = raw.rstrip(b"\r")
        match = plain(raw)
        if match is None:
            if raw.strip():
                break
            continue
        try:
            datetime(*map(int, match.groups()))
        except ValueError:
            break
        count += 1
    else:
        return count
    parsed = adms.parse_attlog(body)
    return len(parsed.records) + parsed.duplicates


def _plain_number(value: str | None) -> bool:
    """A stamp we can keep: ASCII digits that fit a BIGINT."""
    return bool(value) and value.isascii() and value.isdigit() and len(value) <= 18


@dataclass(frozen=True)
class IngestReport:
    """What one `process_pending` call did."""

    uploads: int = 0
    punches: int = 0  # new punches stored
    published: int = 0  # `attendance.punch.recorded` events written (new matched punches)
    rejected: int = 0  # lines kept aside


def process_pending(session: Session, config: AttendanceConfig, now: datetime, limit: int | None = 50,
                    device_serial: str | None = None) -> IngestReport:
    """Turn stored, unprocessed uploads of approved devices into punches, in the caller's transaction.

    Claims up to `limit` uploads oldest first (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several
    workers never take the same upload), parses them, inserts their punches in one set-based
    `INSERT ... ON CONFLICT DO NOTHING` (a re-sent record adds nothing), keeps rejected lines with their
    reason, keeps OPERLOG user lists, writes one `attendance.punch.recorded` outbox row per new matched
    punch, and marks the uploads processed. A crash before the commit leaves them pending: processing
    them again gives the same result. Uploads of devices awaiting approval are left alone.
    """
    r, d = tables.raw_uploads.c, tables.devices.c
    query = (select(r.id, r.device_serial, r.table_name, r.body, d.zone)
             .join(tables.devices, d.device_serial == r.device_serial)
             .where(r.processed_at.is_(None), d.state == "approved").order_by(r.id))
    if device_serial is not None:
        query = query.where(r.device_serial == device_serial)
    if limit is not None:
        query = query.limit(limit)
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(of=tables.raw_uploads, skip_locked=True)
    uploads = session.execute(query).all()
    if not uploads:
        return IngestReport()
    _lock_matching(session, {u.device_serial for u in uploads})
    punches: dict[tuple, dict] = {}
    sequences: set[tuple] = set()
    rejected: list[dict] = []
    for upload in uploads:
        if upload.table_name == "ATTLOG":
            batch = adms.parse_attlog(upload.body)
            rejected += _rejected_rows(upload.id, batch.rejected, now)
            zone = _zone(upload, config)
            for record in batch.records:
                key = (upload.device_serial, record.pin, record.local_time)
                sequence = (upload.device_serial, record.sequence)
                if key in punches or (record.sequence is not None and sequence in sequences):
                    continue  # the first wins, as the unique constraints would decide
                if record.sequence is not None:
                    sequences.add(sequence)
                punches[key] = {
                    "device_serial": upload.device_serial, "pin": record.pin, "sequence": record.sequence,
                    "employee_id": None, "source": "adms", "origin": None,
                    "at": local_time_to_utc(record.local_time, zone), "local_time": record.local_time, "zone": zone,
                    "local_date": record.local_time.date(), "device_status": record.status, "verify": record.verify,
                    "upload_id": upload.id, "recorded_at": now,
                }
        else:
            operlog = adms.parse_operlog(upload.body)
            rejected += _rejected_rows(upload.id, operlog.rejected, now)
            _store_device_users(session, upload.device_serial, operlog.users, now)
    enrolled = _enrolled_pairs(session, {(s, pin) for s, pin, _ in punches})
    for (serial, pin, _), row in punches.items():
        row["employee_id"] = enrolled.get((serial, pin))
    # One order for every writer, so concurrent workers inserting the same keys wait rather than deadlock.
    new = _store_punches(session, [punches[key] for key in sorted(punches)], now)
    if rejected:
        session.execute(insert(tables.rejected_lines), rejected)
    session.execute(update(tables.raw_uploads).where(r.id.in_([u.id for u in uploads])).values(processed_at=now))
    return IngestReport(len(uploads), len(new), sum(1 for row in new if row.employee_id), len(rejected))


def _lock_matching(session: Session, serials: Iterable[str], exclusive: bool = False) -> None:
    """Serialise matching PINs to employees per device (PostgreSQL advisory locks, held to the commit).

    Storing punches takes the shared lock, a new enrolment the exclusive one: without it, an enrolment
    committed while a batch is being stored would miss that batch's punches, and the batch would not see
    the enrolment, leaving punches unmatched for ever.
    """
    serials = sorted(set(serials))
    if not serials or session.bind.dialect.name != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    session.execute(text(f"SELECT {function}(k) FROM (SELECT hashtextextended(s, 3) AS k "
                         "FROM unnest(CAST(:serials AS text[])) AS s ORDER BY 1) AS keys"), {"serials": serials})


def _rejected_rows(upload_id: int | None, rejected: Iterable[adms.RejectedLine], now: datetime) -> list[dict]:
    # PostgreSQL text cannot hold NUL, which garbage lines do contain: keep it visible, escaped.
    return [{"upload_id": upload_id, "line_no": r.line_no, "raw": r.raw.replace("\x00", "\\x00"),
             "reason": r.reason.replace("\x00", "\\x00"), "rejected_at": now} for r in rejected]


def _enrolled_pairs(session: Session, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(device serial, PIN) -> employee id for the active enrolments among `pairs`."""
    if not pairs:
        return {}
    e = tables.enrolments.c
    rows = session.execute(select(e.device_serial, e.pin, e.employee_id).where(
        e.active.is_(True), e.device_serial.in_(sorted({s for s, _ in pairs})), e.pin.in_(sorted({p for _, p in pairs}))))
    return {(r.device_serial, r.pin): r.employee_id for r in rows if (r.device_serial, r.pin) in pairs}


def _enrolled(session: Session, serial: str, pins: Iterable[str]) -> dict[str, str]:
    e = tables.enrolments.c
    pins = sorted(set(pins))
    if not pins:
        return {}
    rows = session.execute(select(e.pin, e.employee_id).where(e.device_serial == serial, e.active.is_(True),
                                                             e.pin.in_(pins)))
    return {r.pin: r.employee_id for r in rows}


_PUNCH_COLUMNS = ("id", "device_serial", "pin", "employee_id", "source", "at", "local_time", "zone", "local_date",
                  "device_status", "verify")


# Column -> PostgreSQL type, for set-based inserts of whole batches (`_insert_recordset`).
_PUNCH_TYPES = {
    "device_serial": "varchar", "pin": "varchar", "sequence": "bigint", "employee_id": "varchar",
    "source": "varchar", "origin": "varchar", "at": "timestamptz", "local_time": "timestamp",
    "zone": "varchar", "local_date": "date", "device_status": "integer", "verify": "integer",
    "upload_id": "bigint", "recorded_at": "timestamptz",
}
_OUTBOX_TYPES = {"event_id": "varchar", "topic": "varchar", "key": "varchar", "type": "varchar", "payload": "text",
                 "created_at": "timestamptz"}


def _json_value(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _insert_recordset(session: Session, table: str, types: dict[str, str], rows: list[dict],
                      suffix: str = "") -> list:
    """`INSERT INTO table SELECT ... FROM json_to_recordset(<the rows as one JSON array>) <suffix>` (PostgreSQL).

    A whole batch travels as one JSON parameter (encoded and decoded in C), in order: one short statement
    however many rows, instead of a multi-row VALUES list whose thousands of placeholders cost more to
    build and parse than the insert itself.
    """
    columns = ", ".join(types)
    record = ", ".join(f"{c} {t}" for c, t in types.items())
    statement = text(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM json_to_recordset(CAST(:rows AS json)) "
                     f"AS r({record}) {suffix}")
    payload = json.dumps([{c: row.get(c) for c in types} for row in rows], default=_json_value)
    result = session.execute(statement, {"rows": payload})
    return result.all() if result.returns_rows else []


def _store_punches(session: Session, rows: list[dict], now: datetime) -> list:
    """Insert punches ignoring those already stored; publish the new matched ones; return the new rows."""
    if not rows:
        return []
    if session.bind.dialect.name == "postgresql":
        new = _insert_recordset(session, "punches", _PUNCH_TYPES, rows,
                             "ON CONFLICT DO NOTHING RETURNING " + ", ".join(_PUNCH_COLUMNS))
    else:
        statement = _insert_ignoring_conflicts(session, tables.punches) \
            .returning(*(tables.punches.c[name] for name in _PUNCH_COLUMNS))
        new = session.execute(statement, rows).all()
    _publish_punches(session, [r for r in new if r.employee_id], now)
    return new


def _punch_data(row) -> dict:
    return {
        "punch_id": str(row.id), "employee_id": row.employee_id, "device_serial": row.device_serial, "pin": row.pin,
        "source": row.source, "at": _aware(row.at).isoformat(), "local_time": row.local_time.isoformat(),
        "zone": row.zone, "local_date": row.local_date.isoformat(), "device_status": row.device_status,
        "verify": row.verify,
    }


def _publish_punches(session: Session, rows, now: datetime) -> None:
    """One `attendance.punch.recorded` per punch, written to the outbox in one statement."""
    if not rows:
        return
    outbox = [{"event_id": event_id, "topic": topic_of(PUNCH_RECORDED), "key": key, "type": PUNCH_RECORDED,
               "payload": payload, "created_at": now} for event_id, key, payload in _punch_events(rows, now)]
    if session.bind.dialect.name == "postgresql":
        _insert_recordset(session, "outbox", _OUTBOX_TYPES, outbox)
    else:
        session.execute(insert(session.info["metadata"].tables["outbox"]), outbox)


def _validate_punch_data(data: list[dict]) -> None:
    """Check punch event data against the contract, or raise InvalidEvent as `make_event` would.

    The contract's schema has only field-level rules (no schema hooks or validators): a batch whose rows
    all have the same keys is valid exactly when every distinct value of every field is, so each
    distinct value is deserialised once (employees, devices, zones and dates repeat a lot in a batch).
    """
    schema = PunchRecordedSchema()
    if any(schema._hooks.values()) or any(set(row) != set(schema.fields) for row in data):
        try:  # not the simple case: the schema decides row by row
            schema.load(data, many=True)
        except ValidationError as exc:
            raise InvalidEvent({"data": exc.messages}) from None
        return
    errors = {}
    for name, field in schema.fields.items():
        for value in {row[name] for row in data}:
            try:
                field.deserialize(value, name, None)
            except ValidationError as exc:
                errors.setdefault(name, []).extend(exc.messages)
                break
    if errors:
        raise InvalidEvent({"data": errors})


def _punch_events(rows, now: datetime) -> list[tuple[str, str, str]]:
    """(event id, key, wire form) of each punch event, validated against the contract as `make_event` does.

    One schema instance checks the whole batch (`_validate_punch_data`): building a schema per event cost
    more than storing the punches (see docs/PERFORMANCE.md). The data is already in its wire form (ISO strings, ints), which is
    what the schema would dump again, so the envelope is written around it: exactly `Event.to_json()`'s form.
    """
    data = [_punch_data(row) for row in rows]
    _validate_punch_data(data)
    occurred_at = now.astimezone(UTC).isoformat()
    out = []
    for item in data:
        event_id = str(uuid.uuid4())
        out.append((event_id, item["employee_id"], json.dumps({
            "event_id": event_id, "type": PUNCH_RECORDED, "version": 1, "occurred_at": occurred_at,
            "producer": PRODUCER, "key": item["employee_id"], "data": item}, sort_keys=True)))
    return out


def _store_device_users(session: Session, serial: str, users: Iterable[adms.UserInfo], now: datetime) -> None:
    latest = {user.pin: user for user in users}
    if not latest:
        return
    u = tables.device_users.c
    session.execute(tables.device_users.delete().where(u.device_serial == serial, u.pin.in_(sorted(latest))))
    session.execute(insert(tables.device_users), [{
        "device_serial": serial, "pin": user.pin, "name": user.name[:300], "privilege": user.privilege,
        "card": user.card[:64], "updated_at": now} for user in latest.values()])


def approve_device(session: Session, serial: str, zone: str | None, approved_by: str, now: datetime,
                   config: AttendanceConfig) -> dict:
    """Approve a device (known or pre-registered) in `zone` and process every upload it sent while pending."""
    serial = valid_serial(serial)
    if zone is not None and zone not in ZONES:
        raise Problem(422, "Validation failed", "unknown zone", [{"field": "zone", "message": f"one of {list(ZONES)}"}])
    session.execute(_insert_ignoring_conflicts(session, tables.devices, [{
        "device_serial": serial, "state": "pending", "zone": None, "options": {}, "first_seen_at": now,
        "attlog_stamp": 0, "operlog_stamp": 0,
    }]))
    current = _device(session, serial, lock=True)
    session.execute(update(tables.devices).where(tables.devices.c.device_serial == serial).values(
        state="approved", zone=zone or current.zone or config.default_zone, approved_at=now, approved_by=approved_by))
    row = _device(session, serial)
    processed = 0
    while True:  # what it sent while pending, in bounded transactions' worth of work
        report = process_pending(session, config, now, limit=APPROVAL_CHUNK, device_serial=serial)
        processed += report.uploads
        if report.uploads < APPROVAL_CHUNK:
            break
    publish(session, _device_event("attendance.device.approved", row))
    return device_view(row, now, config, session) | {"uploads_processed": processed}


def disable_device(session: Session, serial: str, now: datetime, config: AttendanceConfig) -> dict:
    """Disable a device: its later contacts are refused (its stored punches stay)."""
    row = _device(session, valid_serial(serial), lock=True)
    if row is None:
        raise Problem(404, "Not found", f"no device {serial}")
    session.execute(update(tables.devices).where(tables.devices.c.device_serial == serial).values(state="disabled"))
    return device_view(_device(session, serial), now, config, session)


def _working_now(session: Session, zone: str, now: datetime) -> bool:
    """Whether `now` falls inside the national working hours of the device's zone (default week, holidays)."""
    local_date = now.astimezone(ZoneInfo(zone)).date()
    shift = planned_shift(default_schedule(), local_date, _holiday_dates(session, local_date, local_date), zone)
    return shift is not None and shift.start <= now <= shift.end


def device_view(row, now: datetime, config: AttendanceConfig, session: Session) -> dict:
    """A device as the API shows it, with `silent` when it has not been heard from during working hours."""
    zone = _zone(row, config)
    quiet = row.last_seen_at is None or now - _aware(row.last_seen_at) > timedelta(minutes=config.silent_minutes)
    return {
        "device_serial": row.device_serial, "state": row.state, "zone": row.zone,
        "last_seen_at": _iso(row.last_seen_at), "remote_addr": row.remote_addr,
        "attlog_stamp": row.attlog_stamp, "operlog_stamp": row.operlog_stamp,
        "first_seen_at": _iso(row.first_seen_at), "approved_at": _iso(row.approved_at),
        "options": row.options or {},
        "silent": row.state == "approved" and quiet and _working_now(session, zone, now),
    }


def list_devices(session: Session, now: datetime, config: AttendanceConfig, state: str | None = None) -> list[dict]:
    """Every device with its last contact and silence marker."""
    query = select(tables.devices).order_by(tables.devices.c.device_serial)
    if state:
        query = query.where(tables.devices.c.state == state)
    return [device_view(row, now, config, session) for row in session.execute(query)]


def device_users_of(session: Session, serial: str) -> list[dict]:
    """The user list a device reported in its OPERLOG uploads."""
    u = tables.device_users.c
    rows = session.execute(select(tables.device_users).where(u.device_serial == serial).order_by(u.pin))
    return [{"pin": r.pin, "name": r.name, "privilege": r.privilege, "card": r.card,
             "updated_at": _iso(r.updated_at)} for r in rows]


def rejected_lines_of(session: Session, serial: str, limit: int = 500) -> list[dict]:
    """The latest lines a device sent that were kept aside, with their reasons."""
    rl, ru = tables.rejected_lines.c, tables.raw_uploads.c
    rows = session.execute(select(rl.upload_id, rl.line_no, rl.raw, rl.reason, ru.received_at)
                           .join(tables.raw_uploads, ru.id == rl.upload_id).where(ru.device_serial == serial)
                           .order_by(rl.id.desc()).limit(limit))
    return [{"upload_id": r.upload_id, "line_no": r.line_no, "raw": r.raw, "reason": r.reason,
             "received_at": _iso(r.received_at)} for r in rows]


# --- commands -------------------------------------------------------------------------------------------

def queue_command(session: Session, serial: str, command: str, now: datetime) -> None:
    """Queue a command for a device's next `getrequest` poll."""
    session.execute(insert(tables.device_commands).values(device_serial=serial, command=command, state="queued",
                                                          queued_at=now))


def next_commands(session: Session, serial: str, remote_addr: str | None, now: datetime,
                  config: AttendanceConfig) -> str:
    """The `getrequest` reply: queued commands (then marked sent), or `OK`; the poll is also a heartbeat."""
    row = touch_device(session, serial, remote_addr, now, config)
    if row.state != "approved":
        return "OK"
    c = tables.device_commands.c
    queued = session.execute(select(c.id, c.command).where(c.device_serial == row.device_serial, c.state == "queued")
                             .order_by(c.id).limit(MAX_COMMANDS_PER_POLL)).all()
    if queued:
        session.execute(update(tables.device_commands).where(c.id.in_([q.id for q in queued]))
                        .values(state="sent", sent_at=now))
    return adms.render_commands((q.id, q.command) for q in queued)


def record_command_results(session: Session, serial: str, body: bytes, remote_addr: str | None, now: datetime,
                           config: AttendanceConfig) -> int:
    """Apply `devicecmd` results (0 done, anything else failed); return how many matched a command."""
    row = touch_device(session, serial, remote_addr, now, config)
    c = tables.device_commands.c
    matched = 0
    for result in adms.parse_devicecmd(body):
        matched += session.execute(update(tables.device_commands).where(
            c.id == result.id, c.device_serial == row.device_serial).values(
            state="done" if result.return_code == 0 else "failed", return_code=result.return_code,
            answered_at=now)).rowcount
    return matched


def commands_of(session: Session, serial: str) -> list[dict]:
    """A device's command queue, newest first."""
    c = tables.device_commands.c
    rows = session.execute(select(tables.device_commands).where(c.device_serial == serial).order_by(c.id.desc())
                           .limit(200))
    return [{"id": r.id, "command": r.command, "state": r.state, "return_code": r.return_code,
             "queued_at": _iso(r.queued_at), "sent_at": _iso(r.sent_at)} for r in rows]


def register(session: Session, serial: str, body: bytes, remote_addr: str | None, now: datetime,
             config: AttendanceConfig) -> str:
    """Push 3.x `registry`: record the device and its self-description; return its RegistryCode."""
    row = touch_device(session, serial, remote_addr, now, config)
    options = dict(row.options or {}, **adms.parse_registry(body))
    session.execute(update(tables.devices).where(tables.devices.c.device_serial == row.device_serial)
                    .values(options=options))
    return hashlib.sha256(f"kinerja:{row.device_serial}".encode()).hexdigest()[:10]


def push_config(serial: str) -> str:
    """Push 3.x `push`: the server's settings for the device."""
    session_id = hashlib.sha256(f"session:{serial}".encode()).hexdigest()[:16]
    return "\n".join([f"ServerVersion={SERVER_VERSION}", "ServerName=kinerja", "PushVersion=3.0.1",
                      f"RequestDelay={adms.DELAY_SECONDS}", f"ErrorDelay={adms.ERROR_DELAY_SECONDS}",
                      "TransTables=User Transaction", "Realtime=1", f"SessionID={session_id}",
                      "TimeoutSec=10"]) + "\n"


# --- JSON punches -----------------------------------------------------------------------------------------

def record_api_punches(session: Session, items: list[dict], now: datetime) -> dict:
    """Store punches from clock sources that are not ADMS machines: good items kept, bad ones reported.

    Each valid item has either `employee_id` or (`device_serial`, `pin`), and `local_time` or `at`.
    Returns `{"accepted": [{index, punch_id, duplicate}], "rejected": [{index, errors}]}`.
    """
    accepted, rejected, rows, keys = [], [], [], []
    _lock_matching(session, {item["device_serial"] for item in items if item.get("device_serial")})
    for index, item in enumerate(items):
        try:
            row = _api_row(session, item, now)
        except _ItemRefused as refusal:
            rejected.append({"index": index, "errors": refusal.errors})
            continue
        rows.append(row)
        keys.append((index, _punch_key(row)))
    new = {_punch_key(r._asdict()): r for r in _store_punches(session, _distinct(rows), now)}
    for index, key in keys:
        row = new.pop(key, None)
        accepted.append({"index": index, "punch_id": str(row.id) if row else None, "duplicate": row is None,
                         "employee_id": row.employee_id if row else None})
    return {"accepted": accepted, "rejected": rejected}


class _ItemRefused(Exception):
    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.errors = [{"field": field, "message": message}]


def _punch_key(row: dict) -> tuple:
    if row["device_serial"] is None:
        return ("employee", row["employee_id"], _aware(row["at"]))
    return ("device", row["device_serial"], row["pin"], row["local_time"])


def _distinct(rows: list[dict]) -> list[dict]:
    """The first of each repeated punch (the later repeats are reported as duplicates)."""
    first: dict[tuple, dict] = {}
    for row in rows:
        first.setdefault(_punch_key(row), row)
    return list(first.values())


def _api_row(session: Session, item: dict, now: datetime) -> dict:
    by_employee = item.get("employee_id") is not None
    by_device = item.get("device_serial") is not None or item.get("pin") is not None
    if by_employee == by_device:
        raise _ItemRefused("employee_id", "give employee_id, or device_serial and pin (not both)")
    if (item.get("local_time") is None) == (item.get("at") is None):
        raise _ItemRefused("local_time", "give local_time (the clock's wall time) or at (an instant with offset)")
    if by_employee:
        employee = _employee(session, item["employee_id"])
        if employee is None:
            raise _ItemRefused("employee_id", f"unknown employee {item['employee_id']}")
        serial, pin, employee_id, zone = None, None, employee.employee_id, employee.zone
    else:
        if not item.get("device_serial") or not item.get("pin"):
            raise _ItemRefused("pin" if item.get("device_serial") else "device_serial", "both are needed")
        device = _device(session, item["device_serial"])
        if device is None or device.state != "approved":
            raise _ItemRefused("device_serial", f"device {item['device_serial']} is not an approved device")
        serial, pin, zone = device.device_serial, item["pin"], device.zone
        employee_id = _enrolled(session, serial, [pin]).get(pin)
    if item.get("at") is not None:
        at = item["at"].astimezone(UTC)
        local_time = at.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    else:
        local_time = item["local_time"]
        at = local_time_to_utc(local_time, zone)
    if at > now + timedelta(minutes=5):
        raise _ItemRefused("at" if item.get("at") else "local_time", "a punch cannot be in the future")
    return {"device_serial": serial, "pin": pin, "sequence": None, "employee_id": employee_id, "source": "api",
            "origin": item.get("source"), "at": at, "local_time": local_time.replace(microsecond=0), "zone": zone,
            "local_date": local_time.date(), "device_status": None, "verify": None, "upload_id": None,
            "recorded_at": now}


def list_punches(session: Session, employee_id: str, start: date, end: date) -> list[dict]:
    """An employee's punches whose local date is within start..end."""
    p = tables.punches.c
    rows = session.execute(select(*(tables.punches.c[n] for n in _PUNCH_COLUMNS), p.origin)
                           .where(p.employee_id == employee_id, p.local_date >= start, p.local_date <= end)
                           .order_by(p.at))
    return [dict(_punch_data(r), origin=r.origin) for r in rows]


# --- absences --------------------------------------------------------------------------------------------

def record_absence(session: Session, data: dict, recorded_by: str, now: datetime, config: AttendanceConfig) -> dict:
    """Record leave, sick leave, official duty (dinas luar: needs the letter reference) or permission.

    Days already built in the range are rebuilt (a new version when the absence changes them).
    """
    if data["end_date"] < data["start_date"]:
        raise Problem(422, "Validation failed", "the absence ends before it starts",
                      [{"field": "end_date", "message": "must not be before start_date"}])
    if data["kind"] == "duty" and not (data.get("reference") or "").strip():
        raise Problem(422, "Validation failed", "official duty needs its assignment letter",
                      [{"field": "reference", "message": "the assignment letter (surat tugas) number is required"}])
    absence_id = session.execute(insert(tables.absences).values(
        employee_id=data["employee_id"], kind=data["kind"], start_date=data["start_date"], end_date=data["end_date"],
        reference=data.get("reference"), recorded_by=recorded_by, recorded_at=now)
        .returning(tables.absences.c.id)).scalar_one()
    d = tables.days.c
    built = {r.local_date for r in session.execute(select(d.local_date).where(
        d.employee_id == data["employee_id"], d.local_date >= data["start_date"], d.local_date <= data["end_date"]))}
    if built:
        rebuild_days(session, data["employee_id"], built, config)
    return _absence_view(session.execute(select(tables.absences).where(tables.absences.c.id == absence_id)).one())


def _absence_view(row) -> dict:
    return {"absence_id": row.id, "employee_id": row.employee_id, "kind": row.kind,
            "start_date": row.start_date.isoformat(), "end_date": row.end_date.isoformat(),
            "reference": row.reference, "recorded_by": row.recorded_by, "recorded_at": _iso(row.recorded_at)}


def list_absences(session: Session, employee_id: str, start: date, end: date) -> list[dict]:
    """An employee's absences overlapping start..end."""
    a = tables.absences.c
    rows = session.execute(select(tables.absences).where(
        a.employee_id == employee_id, a.start_date <= end, a.end_date >= start).order_by(a.start_date, a.id))
    return [_absence_view(r) for r in rows]


# --- days ------------------------------------------------------------------------------------------------

def _employee(session: Session, employee_id: str):
    return session.execute(select(tables.employees).where(tables.employees.c.employee_id == employee_id)).first()


def _holiday_dates(session: Session, start: date, end: date) -> set[date]:
    h = tables.holidays.c
    return {r.date for r in session.execute(select(h.date).where(h.active.is_(True), h.date >= start, h.date <= end))}


def _schedule_of(session: Session, schedule_id: str | None):
    if schedule_id:
        s = tables.schedules.c
        row = session.execute(select(s.definition).where(s.schedule_id == schedule_id, s.active.is_(True))).first()
        if row:
            return schedule_from_dict(row.definition)
    return default_schedule()


def _day_content(day: AttendanceDay) -> dict:
    data = DayBuiltSchema().dump(dataclasses.asdict(day))
    data.pop("version", None)
    data.pop("correction", None)
    return json.loads(json.dumps(data))


def _local_midnight_utc(local_date: date, zone: str) -> datetime:
    return datetime.combine(local_date, time(0), ZoneInfo(zone)).astimezone(UTC)


def rebuild_days(session: Session, employee_id: str, dates: Iterable[date], config: AttendanceConfig,
                 force: bool = False) -> list[dict]:
    """Build the given local dates of one employee; publish `attendance.day.built` for each day that changed.

    A date is built when punches belong to it, when it was built before, or when `force` is set (the
    daily build that gives everyone a day). Unchanged content keeps its version and publishes nothing;
    a changed day in a month closed for payroll is published as a correction.
    """
    dates = sorted(set(dates))
    if not dates:
        return []
    employee = _employee(session, employee_id)
    zone = employee.zone if employee else config.default_zone
    schedule = _schedule_of(session, employee.schedule_id if employee else None)
    first, last = dates[0] - timedelta(days=2), dates[-1] + timedelta(days=2)
    holidays = _holiday_dates(session, first, last)
    shifts = {first + timedelta(days=n): planned_shift(schedule, first + timedelta(days=n), holidays, zone)
              for n in range((last - first).days + 1)}
    p = tables.punches.c
    punch_rows = session.execute(select(p.id, p.at).where(
        p.employee_id == employee_id, p.at >= _local_midnight_utc(first + timedelta(days=1), zone),
        p.at < _local_midnight_utc(last, zone))).all()
    grouped = assign_punches([Punch(str(r.id), _aware(r.at)) for r in punch_rows], shifts, zone, config.policy)
    a = tables.absences.c
    absences = [Absence(r.kind, r.start_date, r.end_date, r.reference) for r in session.execute(
        select(tables.absences).where(a.employee_id == employee_id, a.start_date <= last, a.end_date >= first))]
    d = tables.days.c
    existing = {r.local_date: r for r in session.execute(
        select(tables.days).where(d.employee_id == employee_id, d.local_date.in_(dates)))}
    published = []
    for local_date in dates:
        day_punches = grouped.get(local_date, ())
        current = existing.get(local_date)
        if not day_punches and current is None and not force:
            continue
        day = build_day(employee_id, local_date, zone, shifts[local_date], day_punches, absences,
                        local_date in holidays, config.policy, version=1)
        content = _day_content(day)
        if current is not None and current.content == content:
            continue
        version = current.version + 1 if current else 1
        correction = employee is not None and _month_closed(session, employee.unit_id, local_date)
        values = {"version": version, "status": content["status"], "content": content, "correction": correction,
                  "built_at": datetime.now(UTC)}
        if current is None:
            session.execute(insert(tables.days).values(employee_id=employee_id, local_date=local_date, **values))
        else:
            session.execute(update(tables.days).where(d.employee_id == employee_id, d.local_date == local_date)
                            .values(**values))
        data = dict(content, version=version, correction=correction)
        publish(session, make_event("attendance.day.built", employee_id, data, PRODUCER))
        published.append(data)
    return published


def _month_closed(session: Session, unit_id: str, local_date: date) -> bool:
    m = tables.closed_months.c
    return session.execute(select(m.unit_id).where(m.unit_id == unit_id, m.year == local_date.year,
                                                   m.month == local_date.month)).first() is not None


def build_days_for_date(session: Session, local_date: date, config: AttendanceConfig,
                        employee_ids: Iterable[str] | None = None) -> dict:
    """Build `local_date` for every active employee (or those given), so people with no punch get a day too."""
    e = tables.employees.c
    query = select(e.employee_id).where(e.active.is_(True)).order_by(e.employee_id)
    if employee_ids is not None:
        query = query.where(e.employee_id.in_(list(employee_ids)))
    built = changed = 0
    for row in session.execute(query).all():
        changed += len(rebuild_days(session, row.employee_id, [local_date], config, force=True))
        built += 1
    return {"local_date": local_date.isoformat(), "employees": built, "days_changed": changed}


# The westernmost zone (WIB) is the last to finish a local date.
_LAST_ZONE = ZoneInfo("Asia/Jakarta")
_MAX_CATCH_UP_DAYS = 31


def close_finished_dates(session: Session, config: AttendanceConfig, now: datetime) -> list[date]:
    """Build every finished local date for all active employees, once, so nobody's day is missing.

    Without this an employee who never punched would have no day at all, so no absence without notice
    (TK) and too few effective minutes. A date is finished `close_day_after_hours` after it ends in WIB,
    leaving night shifts time to clock out. After a pause, missed dates are caught up (at most 31);
    on a first run only the latest finished date is built, not the whole past.
    """
    latest = (now.astimezone(_LAST_ZONE) - timedelta(hours=config.close_day_after_hours)).date() - timedelta(days=1)
    c = tables.closed_dates.c
    last_closed = session.execute(select(func.max(c.local_date))).scalar()
    first = latest if last_closed is None else max(last_closed + timedelta(days=1),
                                                   latest - timedelta(days=_MAX_CATCH_UP_DAYS - 1))
    closed = []
    day = first
    while day <= latest:
        report = build_days_for_date(session, day, config)
        session.execute(insert(tables.closed_dates).values(local_date=day, closed_at=now, employees=report["employees"]))
        closed.append(day)
        day += timedelta(days=1)
    return closed


def list_days(session: Session, employee_id: str, start: date, end: date) -> list[dict]:
    """An employee's built days within start..end, each with its version and correction flag."""
    d = tables.days.c
    rows = session.execute(select(tables.days).where(d.employee_id == employee_id, d.local_date >= start,
                                                     d.local_date <= end).order_by(d.local_date))
    return [dict(r.content, version=r.version, correction=r.correction) for r in rows]


# --- who may see whom ----------------------------------------------------------------------------------

def supervises(session: Session, supervisor_id: str, employee_id: str) -> bool:
    """Whether `supervisor_id` approves `employee_id`'s work: acting supervisor, else supervisor."""
    employee = _employee(session, employee_id)
    if employee is None:
        return False
    if employee.acting_supervisor_id:
        return employee.acting_supervisor_id == supervisor_id
    return employee.supervisor_id == supervisor_id


# --- projections of other services' events ----------------------------------------------------------------

def project_employee(session: Session, data: dict) -> None:
    """Keep the employee's zone, schedule, unit and supervisors."""
    upsert_row(session, tables.employees, {"employee_id": data["employee_id"]}, {
        "unit_id": data["unit_id"], "zone": data["zone"], "schedule_id": data.get("schedule_id"),
        "supervisor_id": data.get("supervisor_id"), "acting_supervisor_id": data.get("acting_supervisor_id"),
        "active": data.get("active", True)})


def project_schedule(session: Session, data: dict) -> None:
    """Keep a schedule's definition."""
    definition = json.loads(json.dumps({k: data[k] for k in ("schedule_id", "name", "days", "variants")},
                                       default=str))
    upsert_row(session, tables.schedules, {"schedule_id": data["schedule_id"]},
             {"definition": definition, "active": data.get("active", True)})


def project_holiday(session: Session, data: dict, config: AttendanceConfig) -> None:
    """Keep a holiday of the calendar, and rebuild the days already built on that date (a *cuti bersama*
    declared late turns yesterday's absences into a holiday, published as new versions)."""
    upsert_row(session, tables.holidays, {"date": data["date"]}, {"name": data["name"], "active": data.get("active", True)})
    d = tables.days.c
    for row in session.execute(select(d.employee_id).where(d.local_date == data["date"])).all():
        rebuild_days(session, row.employee_id, [data["date"]], config)


def project_enrolment(session: Session, data: dict, now: datetime) -> int:
    """Keep an enrolment, queue the matching device command, and match the punches that waited for it.

    Returns how many waiting punches were matched (each is then published as recorded).
    """
    e = tables.enrolments.c
    serial, pin = data["device_serial"], data["pin"]
    current = session.execute(select(tables.enrolments).where(e.device_serial == serial, e.pin == pin)).first()
    values = {"employee_id": data["employee_id"], "name": data.get("name") or "", "active": data.get("active", True)}
    if current is not None and {k: getattr(current, k) for k in values} == values:
        return 0
    upsert_row(session, tables.enrolments, {"device_serial": serial, "pin": pin}, values)
    if values["active"]:
        name = _CONTROL.sub(" ", values["name"])[:24]
        queue_command(session, serial, adms.user_update_command(pin, name), now)
    elif current is not None and current.active:
        queue_command(session, serial, adms.user_delete_command(pin), now)
    if not values["active"]:
        return 0
    _lock_matching(session, [serial], exclusive=True)  # waits for batches of this device being stored
    p = tables.punches.c
    matched = session.execute(update(tables.punches).where(
        p.device_serial == serial, p.pin == pin, p.employee_id.is_(None)).values(employee_id=values["employee_id"])
        .returning(*(tables.punches.c[n] for n in _PUNCH_COLUMNS))).all()
    _publish_punches(session, matched, now)
    return len(matched)


def close_month(session: Session, data: dict) -> None:
    """Remember that a unit's month is closed for payroll: later changes to its days are corrections."""
    session.execute(_insert_ignoring_conflicts(session, tables.closed_months, [{
        "unit_id": data["unit_id"], "year": data["year"], "month": data["month"], "closed_at": data["closed_at"]}]))


def on_punch_recorded(session: Session, data: dict, config: AttendanceConfig) -> list[dict]:
    """Rebuild the days a recorded punch may belong to (its local date and the dates either side)."""
    employee = _employee(session, data["employee_id"])
    zone = employee.zone if employee else data["zone"]
    local_date = data["at"].astimezone(ZoneInfo(zone)).date()
    dates = [local_date + timedelta(days=n) for n in (-1, 0, 1)]
    return rebuild_days(session, data["employee_id"], dates, config)


# --- helpers -----------------------------------------------------------------------------------------------

def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    return _aware(value).isoformat() if value else None
