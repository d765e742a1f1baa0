"""Devices: the ADMS conversation and device administration.

The request path only touches the device (one statement on PostgreSQL, `store.touch`) and stores the raw
body as a pending upload, parsing it just enough to count its valid records; the reply `OK: <n>` is sent
after that commit. The ingest job turns stored uploads into punches (`ingest.process_pending`).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from prometheus_client import Counter
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from attendance import store, tables
from attendance.config import AttendanceConfig
from attendance.domain import adms
from attendance.domain.schedule import default_schedule, planned_shift
from attendance.handlers.days import holiday_dates
from attendance.handlers import ingest
from attendance.handlers.shared import PRODUCER, aware, iso, zone_of
from contracts.directory import ZONES
from runtime.events import Event, make_event
from runtime.messaging import publish
from runtime.errors import Conflict, DomainError, Invalid, NotFound

SERVER_VERSION = "kinerja-attendance/1.0"
SERIAL = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MAX_COMMANDS_PER_POLL = 20
APPROVAL_CHUNK = 200  # uploads processed per pass when a device is approved


class DeviceRefused(DomainError):
    """A device request the server refuses; the message says why.

    `reason` labels the refusal in `kinerja_attendance_device_refusals_total`; `status` is the HTTP status
    of the answer; `retry_after` (seconds) is sent when the device should simply try again later; with
    `keep` the contact itself is still recorded (committed), otherwise nothing of the request is kept. The
    ADMS routes answer it `ERROR: <why>`; anywhere else (the device API) it is a problem naming `errors`.
    """

    title = "Device refused"

    def __init__(self, message: str, reason: str = "invalid", status: int = 400, retry_after: int | None = None,
                 keep: bool = False, errors: list[dict] | None = None):
        super().__init__(message, errors)
        self.reason, self.status, self.retry_after, self.keep = reason, status, retry_after, keep


@dataclass(frozen=True)
class UploadReply:
    """The text answering a device's upload, sent only after the commit."""

    text: str
    accepted: int


REFUSALS = Counter("kinerja_attendance_device_refusals_total",
                   "Device requests refused, by reason: invalid (no usable SN), disabled, network (outside the "
                   "device's allowed networks), comm_key, pending (an upload of an unapproved serial beyond "
                   "its sample, not stored), rate_limited", ["reason"])
log = logging.getLogger(__name__)


def valid_serial(serial: str | None) -> str:
    """The serial number, or DeviceRefused when it is missing or not a plain serial."""
    if not serial or not SERIAL.fullmatch(serial):
        reason = "SN is missing or not 1 to 64 letters, digits, '_', '.', '-'"
        raise DeviceRefused(reason, errors=[{"field": "serial", "message": reason}])
    return serial


def _device_event(event_type: str, row) -> Event:
    return make_event(event_type, row.device_serial, {
        "device_serial": row.device_serial, "state": row.state, "zone": row.zone,
        "last_seen_at": iso(row.last_seen_at), "remote_addr": row.remote_addr,
    }, PRODUCER)


def touch_device(session: Session, serial: str, remote_addr: str | None, now: datetime, config: AttendanceConfig,
                 stamps: dict[str, int] | None = None, upload: dict | None = None, comm_key: str | None = None,
                 handshake: bool = False):
    """Record a device's contact (an unknown serial becomes a pending device); return its row."""
    return _contact(session, serial, remote_addr, now, config, stamps, upload, comm_key, handshake).row


def _contact(session: Session, serial: str, remote_addr: str | None, now: datetime, config: AttendanceConfig,
             stamps: dict[str, int] | None = None, upload: dict | None = None, comm_key: str | None = None,
             handshake: bool = False) -> store.Contact:
    """Record a device's contact and return what it did.

    `stamps` (`attlog_stamp` / `operlog_stamp`) only ever move forward, and only for an approved device.
    With `upload` (`table_name`, `stamp`, `body`) the raw upload is stored too: always for an approved
    device, for a pending one only within its sample (`pending_sample_uploads` bodies, `pending_sample_bytes`
    bytes), never for a disabled one. `attendance.device.seen` is published on first contact and when a
    device speaks again after being silent longer than `silent_minutes`. Refused (the caller rolls back):
    a disabled device, a call from outside the device's allowed networks, and a `pushcommkey` (`comm_key`)
    that does not match the device's, or none on the `handshake` of a device that has one.
    """
    serial = valid_serial(serial)
    addr = (remote_addr or "")[:64] or None
    contact = store.touch(session, serial, addr, now, stamps or {}, upload, config.pending_sample_uploads,
                          config.pending_sample_bytes)
    row = contact.row
    if row.state == "disabled":
        raise DeviceRefused(f"device {serial} is disabled", "disabled", 403)
    if not adms.address_allowed(addr, row.allowed_networks):
        log.warning("device %s called from %s, outside its allowed networks %s", serial, addr, row.allowed_networks)
        raise DeviceRefused(f"device {serial} may not call from {addr}", "network", 403)
    if row.comm_key_digest and (comm_key is not None or handshake) and not hmac.compare_digest(
            row.comm_key_digest, _digest(comm_key or "")):
        log.warning("device %s from %s sent a wrong or no comm key", serial, addr)
        raise DeviceRefused(f"device {serial}: wrong or missing pushcommkey", "comm_key", 403)
    previous = contact.previous_seen_at
    if previous is None or now - aware(previous) > timedelta(minutes=config.silent_minutes):
        publish(session, _device_event("attendance.device.seen", row))
    return contact


def _digest(comm_key: str) -> str:
    return hashlib.sha256(comm_key.encode()).hexdigest()


def handshake(session: Session, serial: str, remote_addr: str | None, now: datetime,
              config: AttendanceConfig, comm_key: str | None = None) -> str:
    """The option block answering `GET /iclock/cdata?options=all`, with this device's stamps and time zone;
    a device awaiting approval is told to wait `pending_retry_seconds` after a refused upload."""
    row = touch_device(session, serial, remote_addr, now, config, comm_key=comm_key, handshake=True)
    return adms.render_handshake(row.device_serial, {
        "ATTLOG": row.attlog_stamp or row.attlog_stamp_text or 0,
        "OPERLOG": row.operlog_stamp or row.operlog_stamp_text or 0,
        "ATTPHOTO": _photo_stamp(session, row.device_serial)}, _offset_minutes(row, now, config), SERVER_VERSION,
        error_delay=adms.ERROR_DELAY_SECONDS if row.state == "approved" else config.pending_retry_seconds)


def _photo_stamp(session: Session, serial: str) -> str:
    """The stamp of the last attendance photo kept from this device (photos are asked for from there on)."""
    r = tables.raw_uploads.c
    stamp = session.execute(select(r.stamp).where(r.device_serial == serial, r.table_name == "ATTPHOTO",
                                                  r.stamp.is_not(None)).order_by(r.id.desc()).limit(1)).scalar()
    return stamp if stamp and (_plain_number(stamp) or _DATE_STAMP.fullmatch(stamp)) else "0"


def _offset_minutes(row, now: datetime, config: AttendanceConfig) -> int:
    return ZoneInfo(zone_of(row, config)).utcoffset(now.replace(tzinfo=None)) // timedelta(minutes=1)


def server_time(session: Session, serial: str, remote_addr: str | None, now: datetime, config: AttendanceConfig,
                encoded: bool = False) -> str:
    """The answer to a time request: `GET cdata?type=time` gets `Time=<ISO 8601 with the device zone's
    offset>`; push 3.x `GET rtdata?type=time` gets `DateTime=<seconds, the SDK's encoding>,ServerTZ=+0700`."""
    row = touch_device(session, serial, remote_addr, now, config)
    local = now.astimezone(ZoneInfo(zone_of(row, config)))
    if not encoded:
        return f"Time={local.replace(microsecond=0).isoformat()}"
    offset = _offset_minutes(row, now, config)
    return f"DateTime={adms.zk_seconds_of(now.astimezone(UTC).replace(tzinfo=None))}," \
           f"ServerTZ={'+' if offset >= 0 else '-'}{abs(offset) // 60:02d}{abs(offset) % 60:02d}"


_STAMP_COLUMNS = {"ATTLOG": "attlog_stamp", "OPERLOG": "operlog_stamp"}
_DATE_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", re.ASCII)
UNRECOGNISED = Counter("kinerja_attendance_unrecognised_uploads_total",
                       "Device uploads of a table the service does not read, kept raw (see each device's view)")


def _stamps(table: str, stamp: str | None) -> dict | None:
    """The stamp to keep for `table`: a number, or a date-time some firmware counts in (kept as text)."""
    column = _STAMP_COLUMNS.get(table)
    if column is None or not stamp:
        return None
    if _plain_number(stamp):
        return {column: int(stamp)}
    if _DATE_STAMP.fullmatch(stamp):
        return {f"{column}_text": stamp}
    return None


def upload_table(table: str | None, tablename: str | None = None, via: str = "CDATA") -> str:
    """The name an upload is kept under: `ATTLOG`, `RTLOG`, ..., or `TABLEDATA.USER` / `QUERYDATA.BIODATA`
    for push 3.x table data (what a `tablename` parameter names), at most 40 characters."""
    table = (table or "").strip().upper()
    if via == "QUERYDATA":
        return f"QUERYDATA.{(tablename or table or 'UNKNOWN').strip().upper()}"[:40]
    if table == "TABLEDATA":
        return f"TABLEDATA.{(tablename or 'UNKNOWN').strip().upper()}"[:40]
    return (table or "UNKNOWN")[:40]


def _count(table: str, body: bytes) -> int:
    """How many valid records the body holds (for the reply); 0 for bodies that are not records."""
    if table == "ATTLOG" or table == "QUERYDATA.ATTLOG":
        return count_attlog(body)
    if table == "OPERLOG":
        operlog = adms.parse_operlog(body)
        return len(operlog.operations) + len(operlog.users) + len(operlog.fingerprints) + \
            len([t for t in operlog.templates if t.kind != "fp"])
    if table in ingest.PUNCH_TABLES:
        batch = ingest.PUNCH_TABLES[table](body)
        return len(batch.records) + batch.duplicates
    if table in ingest.USER_TABLES:
        return len(adms.parse_users(body)[0])
    if table in ingest.TEMPLATE_TABLES:
        return len(adms.parse_templates(body, ingest.TEMPLATE_TABLES[table])[0])
    return 0


def receive_upload(session: Session, serial: str, table: str, stamp: str | None, body: bytes,
                   remote_addr: str | None, now: datetime, config: AttendanceConfig,
                   tablename: str | None = None, via: str = "CDATA") -> UploadReply:
    """Store one device upload (`POST cdata?table=...`, `querydata`) as it came; return the reply for after
    the commit.

    Whatever the table, the body is kept in `raw_uploads` with `processed_at` null before anything is
    answered; `ingest.process_pending` (the `kinerja work attendance` job) reads it later, once the device
    is approved. A table the service does not read is kept the same way, counted
    (`kinerja_attendance_unrecognised_uploads_total`) and shown on the device. The body is parsed here
    only to count its valid records for the reply the protocol expects: `OK: <n>` for ATTLOG and OPERLOG,
    `<tablename>=<n>` for push 3.x table data, `OK` for the rest. An ATTLOG or OPERLOG body with lines but
    none readable is kept and answered `ERROR` (never `OK`), its stamp not taken.

    A device awaiting approval has only a small sample of its uploads stored (`touch_device`); any other
    upload is refused with `retry_after`, its contact still recorded: the device keeps the records and sends
    them again after `pending_retry_seconds` (its ErrorDelay), stored once it is approved.
    """
    name = upload_table(table, tablename, via)
    accepted = _count(name, body)
    unread = name in ("ATTLOG", "OPERLOG") and not accepted and adms.has_lines(body)
    upload = {"table_name": name, "stamp": (stamp or "")[:20] or None, "body": body}
    contact = _contact(session, serial, remote_addr, now, config, None if unread else _stamps(name, stamp), upload)
    row = contact.row
    if not contact.stored:
        raise DeviceRefused(f"device {row.device_serial} awaits approval: upload not stored, send it again later",
                            "pending", 403, retry_after=config.pending_retry_seconds, keep=True)
    if name in ingest.OPTIONS_TABLES:
        _merge_options(session, row, adms.parse_options(body))
    elif name not in ingest.KNOWN_TABLES:
        UNRECOGNISED.inc()
    if unread:  # kept for review, but not acknowledged: the device keeps its records and sends them again
        return UploadReply("ERROR: no line of the body could be read", 0)
    if name in ("ATTLOG", "OPERLOG"):
        return UploadReply(f"OK: {accepted}", accepted)
    if name.startswith(("TABLEDATA.", "QUERYDATA.")) and name not in ingest.OPTIONS_TABLES:
        return UploadReply(f"{name.split('.', 1)[1].lower()}={accepted}", accepted)
    return UploadReply("OK", accepted)


def _merge_options(session: Session, row, options: dict[str, str]) -> None:
    if options:
        session.execute(update(tables.devices).where(tables.devices.c.device_serial == row.device_serial)
                        .values(options=dict(row.options or {}, **options)))


# The plain form of an ATTLOG body: lines of ASCII PIN, time, status, verify, then up to six plain fields (the
# 11th a sequence number), or blank, ended by LF, CRLF or a bare CR. Every line of this form is one
# `adms.parse_attlog` accepts: its time is a real date unless the day is the 29th to 31st of a month that may
# not have it (`_NOT_ALWAYS_A_DAY`). Every repeat is possessive (no field can end where another begins), so the
# match never backtracks into a line and a body that does not match fails in linear time.
_PLAIN_TIME = rb"(?!0000)\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01]) (?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"
_PLAIN_LINE = (rb"[0-9A-Za-z]{1,24}+\t" + _PLAIN_TIME + rb"\t-?\d{1,9}+\t-?\d{1,9}+"
               rb"\t[0-9A-Za-z]*+(?:\t[0-9A-Za-z]*+){0,5}+(?:\t\d{0,18}+)?+|[ \t\x0b\x0c]*+")
_PLAIN_ATTLOG_BODY = re.compile(rb"(?:(?:" + _PLAIN_LINE + rb")(?:\r\n|\r|\n))*+(?:" + _PLAIN_LINE + rb")")
_NOT_ALWAYS_A_DAY = re.compile(rb"-(?:02-(?:29|3[01])|(?:0[469]|11)-31) ")


def count_attlog(body: bytes) -> int:
    """How many valid records an ATTLOG body holds, exactly as `adms.parse_attlog` counts them (repeats included).

    The reply `OK: <n>` needs only this count, not the records: when the whole body has the plain form a
    device sends, it is one match over the body (each of its records holds exactly two `:`, a blank line none);
    anything else is left to the parser.
    """
    if _PLAIN_ATTLOG_BODY.fullmatch(body) is not None and _NOT_ALWAYS_A_DAY.search(body) is None:
        return body.count(b":") // 2
    parsed = adms.parse_attlog(body)
    return len(parsed.records) + parsed.duplicates


def _plain_number(value: str | None) -> bool:
    """A stamp we can keep: ASCII digits that fit a BIGINT."""
    return bool(value) and value.isascii() and value.isdigit() and len(value) <= 18


def pre_register(session: Session, serial: str, zone: str, location: str, approved_by: str, now: datetime,
                 config: AttendanceConfig) -> dict:
    """Record a device that has not called yet, approved in `zone` at `location` (kept in its options); a
    serial the server already knows is a conflict (approve it instead)."""
    serial = valid_serial(serial)
    if store.device(session, serial) is not None:
        raise Conflict(f"device {serial} is known already: approve it instead")
    store.add_pending_device(session, serial, now)
    session.execute(update(tables.devices).where(tables.devices.c.device_serial == serial).values(
        options={"Location": location, "PreRegistered": "1"}))
    return approve_device(session, serial, zone, approved_by, now, config)


def approve_device(session: Session, serial: str, zone: str | None, approved_by: str, now: datetime,
                   config: AttendanceConfig) -> dict:
    """Approve a device that called (or was pre-registered) in `zone` and process every upload it sent while
    pending. A serial never seen is not found: approving it takes an explicit pre-registration."""
    if zone is not None and zone not in ZONES:
        raise Invalid("unknown zone", field="zone", message=f"one of {list(ZONES)}")
    current = store.device(session, serial, lock=True)
    if current is None:
        raise NotFound(f"no device {serial} has called: pre-register it (POST /devices) with its zone and location")
    session.execute(update(tables.devices).where(tables.devices.c.device_serial == serial).values(
        state="approved", zone=zone or current.zone or config.default_zone, approved_at=now, approved_by=approved_by))
    row = store.device(session, serial)
    processed = 0
    while True:  # what it sent while pending, in bounded transactions' worth of work
        report = ingest.process_pending(session, config, now, limit=APPROVAL_CHUNK, device_serial=serial)
        processed += report.uploads
        if report.uploads < APPROVAL_CHUNK:
            break
    publish(session, _device_event("attendance.device.approved", row))
    return device_view(row, now, config, session) | {"uploads_processed": processed}


def disable_device(session: Session, serial: str, now: datetime, config: AttendanceConfig) -> dict:
    """Disable a device: its later contacts are refused (its stored punches stay)."""
    row = store.device(session, valid_serial(serial), lock=True)
    if row is None:
        raise NotFound(f"no device {serial}")
    session.execute(update(tables.devices).where(tables.devices.c.device_serial == serial).values(state="disabled"))
    return device_view(store.device(session, serial), now, config, session)


def set_bounds(session: Session, serial: str, changes: dict, now: datetime, config: AttendanceConfig) -> dict:
    """Set a device's `allowed_networks` (a CIDR list; empty or None: anywhere) and `comm_key` (None: none),
    whichever `changes` holds; the key is kept only as its SHA-256 digest."""
    row = store.device(session, valid_serial(serial), lock=True)
    if row is None:
        raise NotFound(f"no device {serial}")
    values = {}
    if "allowed_networks" in changes:
        try:
            values["allowed_networks"] = adms.allowed_networks(changes["allowed_networks"] or []) or None
        except ValueError as refusal:
            raise Invalid(str(refusal), field="allowed_networks") from None
    if "comm_key" in changes:
        values["comm_key_digest"] = _digest(changes["comm_key"]) if changes["comm_key"] else None
    if values:
        session.execute(update(tables.devices).where(tables.devices.c.device_serial == serial).values(values))
    return device_view(store.device(session, serial), now, config, session)


def _working_now(session: Session, zone: str, now: datetime) -> bool:
    """Whether `now` falls inside the national working hours of the device's zone (default week, holidays)."""
    local_date = now.astimezone(ZoneInfo(zone)).date()
    shift = planned_shift(default_schedule(), local_date, holiday_dates(session, local_date, local_date), zone)
    return shift is not None and shift.start <= now <= shift.end


def is_silent(session: Session, row, now: datetime, config: AttendanceConfig) -> bool:
    """Whether an approved device has not been heard from for `silent_minutes` while it is working hours in its zone."""
    quiet = row.last_seen_at is None or now - aware(row.last_seen_at) > timedelta(minutes=config.silent_minutes)
    return row.state == "approved" and quiet and _working_now(session, zone_of(row, config), now)


def device_view(row, now: datetime, config: AttendanceConfig, session: Session) -> dict:
    """A device as the API shows it, with `silent` when it has not been heard from during working hours."""
    return {
        "device_serial": row.device_serial, "state": row.state, "zone": row.zone,
        "last_seen_at": iso(row.last_seen_at), "remote_addr": row.remote_addr,
        "attlog_stamp": row.attlog_stamp, "operlog_stamp": row.operlog_stamp,
        "first_seen_at": iso(row.first_seen_at), "approved_at": iso(row.approved_at),
        "options": row.options or {},
        "silent": is_silent(session, row, now, config),
        "unrecognised_uploads": unrecognised_uploads(session, row.device_serial),
        "allowed_networks": row.allowed_networks or [], "comm_key_set": row.comm_key_digest is not None,
    } | ({"sample": pending_sample(session, row.device_serial)} if row.state == "pending" else {})


SAMPLE_PREVIEW_BYTES = 2048


def pending_sample(session: Session, serial: str) -> list[dict]:
    """What a device awaiting approval sent that was kept (its sample), for the admin to judge it by: each
    upload's table, time, size and its start as text."""
    r = tables.raw_uploads.c
    rows = session.execute(select(r.id, r.table_name, r.received_at, r.body).where(r.device_serial == serial)
                           .order_by(r.id).limit(20))
    return [{"upload_id": u.id, "table": u.table_name, "received_at": iso(u.received_at), "bytes": len(u.body),
             "preview": bytes(u.body[:SAMPLE_PREVIEW_BYTES]).decode("utf-8", "backslashreplace")} for u in rows]


def unrecognised_uploads(session: Session, serial: str) -> list[dict]:
    """The tables this device sent that the service does not read: kept raw, counted, with the last one's time."""
    r = tables.raw_uploads.c
    rows = session.execute(select(r.table_name, func.count(), func.max(r.received_at)).where(
        r.device_serial == serial, r.table_name.not_in(sorted(ingest.KNOWN_TABLES))).group_by(r.table_name)
        .order_by(r.table_name))
    return [{"table": t, "uploads": n, "last_received_at": iso(last)} for t, n, last in rows]


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


def reconciliation(session: Session, serial: str) -> dict:
    """Who is on the machine against who is enrolled for it: users the device reported that no active
    enrolment names, and enrolled employees the device did not report (with the biometric kinds it holds
    for each PIN, never the templates)."""
    u, e, t = tables.device_users.c, tables.enrolments.c, tables.device_templates.c
    on_device = {r.pin: r for r in session.execute(select(tables.device_users).where(u.device_serial == serial))}
    enrolled = {r.pin: r for r in session.execute(select(tables.enrolments).where(
        e.device_serial == serial, e.active.is_(True)))}
    kinds: dict[str, list[str]] = {}
    for r in session.execute(select(t.pin, t.kind).where(t.device_serial == serial).distinct().order_by(t.pin, t.kind)):
        kinds.setdefault(r.pin, []).append(r.kind)
    reported = [r.updated_at for r in on_device.values()]
    return {
        "device_serial": serial,
        "users_reported_at": iso(max(reported)) if reported else None,
        "on_device_not_enrolled": [{"pin": pin, "name": r.name, "templates": kinds.get(pin, [])}
                                   for pin, r in sorted(on_device.items()) if pin not in enrolled],
        "enrolled_missing_from_device": [{"pin": pin, "employee_id": r.employee_id, "name": r.name}
                                         for pin, r in sorted(enrolled.items()) if pin not in on_device],
        "matched": sum(1 for pin in on_device if pin in enrolled),
    }


def reconcile(session: Session, serial: str, action: str, pins: list[str] | None, requested_by: str,
              now: datetime) -> dict:
    """The one action on a reconciliation: `push` the enrolled employees missing from the machine, or
    `remove` the machine's users nobody enrolled (all of them, or only `pins`); one command per user."""
    view = reconciliation(session, serial)
    if action == "push":
        chosen = view["enrolled_missing_from_device"]
    elif action == "remove":
        chosen = view["on_device_not_enrolled"]
    else:
        raise Invalid("unknown action", field="action", message="push or remove")
    if pins is not None:
        unknown = sorted(set(pins) - {item["pin"] for item in chosen})
        if unknown:
            raise Invalid(f"not in the reconciliation's {action} list: {', '.join(unknown)}", field="pins",
                          message=f"unknown or already reconciled: {', '.join(unknown)}")
        chosen = [item for item in chosen if item["pin"] in set(pins)]
    queued = []
    for item in chosen:
        command = adms.enrolment_command(item["pin"], item["name"]) if action == "push" \
            else adms.user_delete_command(item["pin"])
        queued.append(queue_command(session, serial, command, now, requested_by))
    return {"device_serial": serial, "action": action, "pins": [item["pin"] for item in chosen],
            "command_ids": queued}


def rejected_lines_of(session: Session, serial: str, limit: int = 500) -> list[dict]:
    """The latest lines a device sent that were kept aside, with their reasons."""
    rl, ru = tables.rejected_lines.c, tables.raw_uploads.c
    rows = session.execute(select(rl.upload_id, rl.line_no, rl.raw, rl.reason, ru.received_at)
                           .join(tables.raw_uploads, ru.id == rl.upload_id).where(ru.device_serial == serial)
                           .order_by(rl.id.desc()).limit(limit))
    return [{"upload_id": r.upload_id, "line_no": r.line_no, "raw": r.raw, "reason": r.reason,
             "received_at": iso(r.received_at)} for r in rows]


# --- commands -------------------------------------------------------------------------------------------

def queue_command(session: Session, serial: str, command: str, now: datetime, requested_by: str | None = None) -> int:
    """Queue a command for a device's next `getrequest` poll; return its id."""
    return session.execute(insert(tables.device_commands).values(
        device_serial=serial, command=command, state="queued", queued_at=now, requested_by=requested_by)
        .returning(tables.device_commands.c.id)).scalar_one()


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


MAX_RESULT_CHARS = 65536


def record_command_results(session: Session, serial: str, body: bytes, remote_addr: str | None, now: datetime,
                           config: AttendanceConfig) -> int:
    """Store a `devicecmd` body, then apply its results (0 done, anything else failed) with the output each
    carries (INFO's and GET OPTION's values also update the device's options); return how many matched a
    command of this device."""
    row = touch_device(session, serial, remote_addr, now, config, upload=kept(ingest.DEVICECMD, body))
    c = tables.device_commands.c
    matched = 0
    options: dict[str, str] = {}
    for result in adms.parse_devicecmd(body):
        answered = session.execute(update(tables.device_commands).where(
            c.id == result.id, c.device_serial == row.device_serial).values(
            state="done" if result.return_code == 0 else "failed", return_code=result.return_code,
            result=result.output[:MAX_RESULT_CHARS] or None, answered_at=now)).rowcount
        matched += answered
        if answered and result.return_code == 0:
            options.update(adms.result_options(result.output))
    _merge_options(session, row, options)
    return matched


def kept(table: str, body: bytes) -> dict:
    """A body stored as it came (`raw_uploads`), for a request whose effect is applied at once."""
    return {"table_name": table, "stamp": None, "body": body}


def record_query_result(session: Session, serial: str, command_id: str | None, table: str, count: int,
                        now: datetime) -> None:
    """A push 3.x `querydata` upload answering a DATA QUERY: the command is done, its result says what came."""
    if command_id and command_id.isdigit():
        c = tables.device_commands.c
        session.execute(update(tables.device_commands).where(c.id == int(command_id), c.device_serial == serial)
                        .values(state="done", return_code=0, answered_at=now,
                                result=f"{count} record(s) of {table} received"))


def commands_of(session: Session, serial: str) -> list[dict]:
    """A device's commands, newest first, each with its state and what the device answered."""
    c = tables.device_commands.c
    rows = session.execute(select(tables.device_commands).where(c.device_serial == serial).order_by(c.id.desc())
                           .limit(200))
    return [_command_view(r) for r in rows]


def _command_view(r) -> dict:
    return {"id": r.id, "command": r.command, "state": r.state, "return_code": r.return_code, "result": r.result,
            "requested_by": r.requested_by, "queued_at": iso(r.queued_at), "sent_at": iso(r.sent_at),
            "answered_at": iso(r.answered_at)}


def _push3(row) -> bool:
    """Whether the device speaks push 3.x (it registered, or said so)."""
    options = row.options or {}
    return "DeviceType" in options or str(options.get("PushVersion", options.get("PushProtVer", ""))).startswith("3")


def request_command(session: Session, serial: str, kind: str, params: dict, requested_by: str,
                    now: datetime) -> dict:
    """Queue an operator's command (INFO, CHECK, LOG from a date, CLEAR LOG, REBOOT, SET/GET OPTION,
    DATA QUERY, ENROLL) for an approved device; its answer is recorded when the device sends it.

    CLEAR LOG is refused unless the device's log is verifiably all stored here: an INFO answered after the
    last attendance upload reports no more records (`TransactionCount`) than this service holds from the
    device, and nothing it sent is still waiting to be processed.
    """
    row = store.device(session, serial)
    if row is None:
        raise NotFound(f"no device {serial}")
    if row.state != "approved":
        raise Conflict(f"device {serial} is {row.state}: only approved devices take commands")
    try:
        command = adms.render_device_command(kind, params, _push3(row))
    except adms.CommandRefused as refusal:
        raise Invalid(str(refusal), field=refusal.field) from None
    if kind == "CLEAR_LOG":
        _check_log_fully_stored(session, serial)
    command_id = queue_command(session, serial, command, now, requested_by)
    c = tables.device_commands.c
    return _command_view(session.execute(select(tables.device_commands).where(c.id == command_id)).one())


def _check_log_fully_stored(session: Session, serial: str) -> None:
    r, c = tables.raw_uploads.c, tables.device_commands.c
    attendance = sorted(ingest.PUNCH_TABLES)
    pending = session.execute(select(func.count()).where(
        r.device_serial == serial, r.processed_at.is_(None), r.table_name.in_(attendance))).scalar()
    last_upload = session.execute(select(func.max(r.received_at)).where(
        r.device_serial == serial, r.table_name.in_(attendance))).scalar()
    info = session.execute(select(c.result, c.answered_at).where(
        c.device_serial == serial, c.command == "INFO", c.state == "done").order_by(c.id.desc()).limit(1)).first()
    if pending:
        raise Conflict(f"{pending} upload(s) of this device are not processed yet")
    if info is None or (last_upload is not None and aware(info.answered_at) < aware(last_upload)):
        raise Conflict("send INFO first: its answer must come after the device's last upload")
    reported = adms.result_options(info.result or "").get("TransactionCount")
    if reported is None or not reported.strip().isdigit():
        raise Conflict("the device's INFO answer did not report its TransactionCount")
    p, rl = tables.punches.c, tables.rejected_lines.c
    stored = session.execute(select(func.count()).where(p.device_serial == serial)).scalar() + \
        session.execute(select(func.count()).select_from(tables.rejected_lines).join(
            tables.raw_uploads, r.id == rl.upload_id).where(
            r.device_serial == serial, r.table_name.in_(attendance))).scalar()
    if int(reported) > stored:
        raise Conflict(f"the device holds {int(reported)} records and {stored} are stored here: "
                                       "send LOG from the first missing date before clearing it")


def register(session: Session, serial: str, body: bytes, remote_addr: str | None, now: datetime,
             config: AttendanceConfig) -> str:
    """Push 3.x `registry`: store the body, record the device and its self-description; return its RegistryCode."""
    row = touch_device(session, serial, remote_addr, now, config, upload=kept(ingest.REGISTRY, body))
    _merge_options(session, row, adms.parse_registry(body))
    return hashlib.sha256(f"kinerja:{row.device_serial}".encode()).hexdigest()[:10]


def push_config(serial: str) -> str:
    """Push 3.x `push`: the server's settings for the device."""
    session_id = hashlib.sha256(f"session:{serial}".encode()).hexdigest()[:16]
    return "\n".join([f"ServerVersion={SERVER_VERSION}", "ServerName=kinerja", "PushVersion=3.0.1",
                      f"RequestDelay={adms.DELAY_SECONDS}", f"ErrorDelay={adms.ERROR_DELAY_SECONDS}",
                      "TransTables=User Transaction", "Realtime=1", f"SessionID={session_id}",
                      "TimeoutSec=10"]) + "\n"


