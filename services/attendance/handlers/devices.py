"""Devices: the ADMS conversation and device administration.

The request path only touches the device (one statement on PostgreSQL, `store.touch`) and stores the raw
body as a pending upload, parsing it just enough to count its valid records; the reply `OK: <n>` is sent
after that commit. The ingest job turns stored uploads into punches (`ingest.process_pending`).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from attendance import store, tables
from attendance.config import AttendanceConfig
from attendance.domain import adms
from attendance.domain.schedule import default_schedule, planned_shift
from attendance.handlers.days import holiday_dates
from attendance.handlers.ingest import process_pending
from attendance.handlers.shared import PRODUCER, aware, iso, zone_of
from contracts.directory import ZONES
from runtime.events import Event, make_event
from runtime.messaging import publish
from runtime.problems import Problem

SERVER_VERSION = "kinerja-attendance/1.0"
SERIAL = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MAX_COMMANDS_PER_POLL = 20
APPROVAL_CHUNK = 200  # uploads processed per pass when a device is approved


class DeviceRefused(Exception):
    """A device that may not talk to the server (disabled); the message says why."""


@dataclass(frozen=True)
class UploadReply:
    """The text answering a device's upload, sent only after the commit."""

    text: str
    accepted: int


def valid_serial(serial: str | None) -> str:
    """The serial number, or DeviceRefused when it is missing or not a plain serial."""
    if not serial or not SERIAL.fullmatch(serial):
        raise DeviceRefused("SN is missing or not 1 to 64 letters, digits, '_', '.', '-'")
    return serial


def _device_event(event_type: str, row) -> Event:
    return make_event(event_type, row.device_serial, {
        "device_serial": row.device_serial, "state": row.state, "zone": row.zone,
        "last_seen_at": iso(row.last_seen_at), "remote_addr": row.remote_addr,
    }, PRODUCER)


def touch_device(session: Session, serial: str, remote_addr: str | None, now: datetime, config: AttendanceConfig,
                 stamps: dict[str, int] | None = None, upload: dict | None = None):
    """Record a device's contact (an unknown serial becomes a pending device); return its row.

    `stamps` (`attlog_stamp` / `operlog_stamp`) only ever move forward. With `upload` (`table_name`,
    `stamp`, `body`) the raw upload is stored too, unless the device is disabled. `attendance.device.seen`
    is published on first contact and when a device speaks again after being silent longer than
    `silent_minutes`; a disabled device is refused (the caller rolls back).
    """
    serial = valid_serial(serial)
    addr = (remote_addr or "")[:64] or None
    row, previous = store.touch(session, serial, addr, now, stamps or {}, upload)
    if row.state == "disabled":
        raise DeviceRefused(f"device {serial} is disabled")
    if previous is None or now - aware(previous) > timedelta(minutes=config.silent_minutes):
        publish(session, _device_event("attendance.device.seen", row))
    return row


def handshake(session: Session, serial: str, remote_addr: str | None, now: datetime,
              config: AttendanceConfig) -> str:
    """The option block answering `GET /iclock/cdata?options=all`, with this device's stamps and time zone."""
    row = touch_device(session, serial, remote_addr, now, config)
    offset = ZoneInfo(zone_of(row, config)).utcoffset(now.replace(tzinfo=None)) // timedelta(minutes=1)
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


def approve_device(session: Session, serial: str, zone: str | None, approved_by: str, now: datetime,
                   config: AttendanceConfig) -> dict:
    """Approve a device (known or pre-registered) in `zone` and process every upload it sent while pending."""
    serial = valid_serial(serial)
    if zone is not None and zone not in ZONES:
        raise Problem(422, "Validation failed", "unknown zone", [{"field": "zone", "message": f"one of {list(ZONES)}"}])
    store.add_pending_device(session, serial, now)
    current = store.device(session, serial, lock=True)
    session.execute(update(tables.devices).where(tables.devices.c.device_serial == serial).values(
        state="approved", zone=zone or current.zone or config.default_zone, approved_at=now, approved_by=approved_by))
    row = store.device(session, serial)
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
    row = store.device(session, valid_serial(serial), lock=True)
    if row is None:
        raise Problem(404, "Not found", f"no device {serial}")
    session.execute(update(tables.devices).where(tables.devices.c.device_serial == serial).values(state="disabled"))
    return device_view(store.device(session, serial), now, config, session)


def _working_now(session: Session, zone: str, now: datetime) -> bool:
    """Whether `now` falls inside the national working hours of the device's zone (default week, holidays)."""
    local_date = now.astimezone(ZoneInfo(zone)).date()
    shift = planned_shift(default_schedule(), local_date, holiday_dates(session, local_date, local_date), zone)
    return shift is not None and shift.start <= now <= shift.end


def device_view(row, now: datetime, config: AttendanceConfig, session: Session) -> dict:
    """A device as the API shows it, with `silent` when it has not been heard from during working hours."""
    zone = zone_of(row, config)
    quiet = row.last_seen_at is None or now - aware(row.last_seen_at) > timedelta(minutes=config.silent_minutes)
    return {
        "device_serial": row.device_serial, "state": row.state, "zone": row.zone,
        "last_seen_at": iso(row.last_seen_at), "remote_addr": row.remote_addr,
        "attlog_stamp": row.attlog_stamp, "operlog_stamp": row.operlog_stamp,
        "first_seen_at": iso(row.first_seen_at), "approved_at": iso(row.approved_at),
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
             "updated_at": iso(r.updated_at)} for r in rows]


def rejected_lines_of(session: Session, serial: str, limit: int = 500) -> list[dict]:
    """The latest lines a device sent that were kept aside, with their reasons."""
    rl, ru = tables.rejected_lines.c, tables.raw_uploads.c
    rows = session.execute(select(rl.upload_id, rl.line_no, rl.raw, rl.reason, ru.received_at)
                           .join(tables.raw_uploads, ru.id == rl.upload_id).where(ru.device_serial == serial)
                           .order_by(rl.id.desc()).limit(limit))
    return [{"upload_id": r.upload_id, "line_no": r.line_no, "raw": r.raw, "reason": r.reason,
             "received_at": iso(r.received_at)} for r in rows]


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
             "queued_at": iso(r.queued_at), "sent_at": iso(r.sent_at)} for r in rows]


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


