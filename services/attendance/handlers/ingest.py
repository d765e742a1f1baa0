"""The ingest job's use case: stored device uploads of approved devices become punches.

`process_pending` (run by the `kinerja work attendance` job, see `jobs.py`) claims pending uploads in
batches and, in one transaction per batch, stores their punches (each matched to its enrolment; a COPY, and
re-sent records add nothing: `store.insert_device_punches`), their rejected lines, the users
they list, and in the same transaction rebuilds the days of the new matched punches (`punches.build_days_of`),
whose changes go out as `attendance.day.built`.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import Counter
from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from attendance import store, tables
from attendance.config import AttendanceConfig
from attendance.domain import adms
from attendance.domain.days import local_time_to_utc
from attendance.handlers.punches import store_device_punches
from attendance.handlers.shared import zone_of
from runtime.db import insert_for


@dataclass(frozen=True)
class IngestReport:
    """What one `process_pending` call did."""

    uploads: int = 0
    punches: int = 0  # new punches stored
    matched: int = 0  # new punches matched to an employee (their days rebuilt)
    rejected: int = 0  # lines kept aside

    def __add__(self, other: IngestReport) -> IngestReport:
        return IngestReport(self.uploads + other.uploads, self.punches + other.punches,
                            self.matched + other.matched, self.rejected + other.rejected)


# How the job reads each kind of stored upload (`raw_uploads.table_name`). A table not listed here is kept
# raw as it came, counted and shown on the device (`devices.unrecognised_uploads`), never read as empty.
PUNCH_TABLES = {"ATTLOG": adms.parse_attlog, "QUERYDATA.ATTLOG": adms.parse_attlog,
                "RTLOG": adms.parse_keyed_punches, "TABLEDATA.TRANSACTION": adms.parse_keyed_punches,
                "QUERYDATA.TRANSACTION": adms.parse_keyed_punches}
USER_TABLES = {"TABLEDATA.USER", "QUERYDATA.USER", "USERINFO"}
TEMPLATE_TABLES = {"TABLEDATA.BIODATA": "BIODATA", "QUERYDATA.BIODATA": "BIODATA", "BIODATA": "BIODATA",
                   "TABLEDATA.BIOPHOTO": "BIOPHOTO", "QUERYDATA.BIOPHOTO": "BIOPHOTO", "USERPIC": "USERPIC",
                   "TABLEDATA.USERPIC": "USERPIC", "QUERYDATA.USERPIC": "USERPIC", "BIOPHOTO": "BIOPHOTO"}
DEVICECMD, REGISTRY = "DEVICECMD", "REGISTRY"  # command results and push 3.x registrations, kept as they came
OPTIONS_TABLES = {"OPTIONS", "QUERYDATA.OPTIONS"}
APPLIED_AT_RECEPTION = {*OPTIONS_TABLES, DEVICECMD, REGISTRY, "PUSH"}  # the request applies them
KNOWN_TABLES = frozenset({*PUNCH_TABLES, *USER_TABLES, *TEMPLATE_TABLES, *APPLIED_AT_RECEPTION, "OPERLOG",
                          "ATTPHOTO"})


def process_pending(session: Session, config: AttendanceConfig, now: datetime, limit: int | None = 50,
                    device_serial: str | None = None) -> IngestReport:
    """Turn stored, unprocessed uploads of approved devices into punches, in the caller's transaction.

    Claims up to `limit` uploads oldest first (several workers never take the same upload), parses them,
    inserts their punches at once (a re-sent record adds nothing; each matched to the employee its
    device and PIN are enrolled as), keeps rejected lines with their reason, keeps the users, templates and
    photos they carry, rebuilds the days of the new matched punches, and marks the uploads processed. A crash
    before the commit leaves them pending: processing them again gives the same result. Uploads of devices
    awaiting approval are left alone; uploads of tables the service does not read are marked processed and stay
    as they came.
    """
    uploads = store.claim_pending(session, limit, device_serial)
    if not uploads:
        return IngestReport()
    store.lock_matching(session, {u.device_serial for u in uploads})
    punches: dict[tuple, dict] = {}
    sequences: set[tuple] = set()
    rejected: list[dict] = []
    for upload in uploads:
        table = upload.table_name
        if table in PUNCH_TABLES:
            batch = PUNCH_TABLES[table](upload.body)
            rejected += _rejected_rows(upload.id, batch.rejected, now)
            zone = zone_of(upload, config)
            serial, upload_id = upload.device_serial, upload.id  # a row's attribute costs 0.5 µs: read once
            for record in batch.records:
                key = (serial, record.pin, record.local_time)
                sequence = (serial, record.sequence)
                if key in punches or (record.sequence is not None and sequence in sequences):
                    continue  # the first wins, as the unique constraints would decide
                if record.sequence is not None:
                    sequences.add(sequence)
                punches[key] = {
                    "device_serial": serial, "pin": record.pin, "sequence": record.sequence,
                    "at": local_time_to_utc(record.local_time, zone), "local_time": record.local_time, "zone": zone,
                    "device_status": record.status, "verify": record.verify, "upload_id": upload_id,
                }
        elif table == "OPERLOG":
            operlog = adms.parse_operlog(upload.body)
            rejected += _rejected_rows(upload.id, operlog.rejected, now)
            _store_device_users(session, upload.device_serial, operlog.users, now)
            _store_templates(session, upload.device_serial, operlog.templates, now)
        elif table in USER_TABLES:
            users, refused = adms.parse_users(upload.body)
            rejected += _rejected_rows(upload.id, refused, now)
            _store_device_users(session, upload.device_serial, users, now)
        elif table in TEMPLATE_TABLES:
            templates, refused = adms.parse_templates(upload.body, TEMPLATE_TABLES[table])
            rejected += _rejected_rows(upload.id, refused, now)
            _store_templates(session, upload.device_serial, templates, now)
        elif table == "ATTPHOTO":
            rejected += _store_photo(session, upload, now)
    # One order for every writer, so concurrent workers inserting the same keys wait rather than deadlock.
    stored, matched = store_device_punches(session, [punches[key] for key in sorted(punches)], now, config)
    if rejected:
        session.execute(insert(tables.rejected_lines), rejected)
    r = tables.raw_uploads.c
    session.execute(update(tables.raw_uploads).where(r.id.in_([u.id for u in uploads])).values(processed_at=now))
    return IngestReport(len(uploads), stored, matched, len(rejected))


def _store_templates(session: Session, serial: str, templates: Iterable[adms.Template], now: datetime) -> None:
    """Keep each (PIN, kind, index)'s latest template, as the opaque bytes the device sent."""
    latest = {(t.pin, t.kind, t.index): t for t in templates}
    if not latest:
        return
    t = tables.device_templates.c
    for pin, kind, index in latest:
        session.execute(tables.device_templates.delete().where(
            t.device_serial == serial, t.pin == pin, t.kind == kind, t.index == index))
    session.execute(insert(tables.device_templates), [{
        "device_serial": serial, "pin": x.pin, "kind": x.kind, "index": x.index, "data": x.data, "updated_at": now}
        for x in latest.values()])


def _store_photo(session: Session, upload, now: datetime) -> list[dict]:
    """Keep an ATTPHOTO as the evidence of the punch taken at its time (a repeat of it changes nothing)."""
    try:
        photo = adms.parse_attphoto(upload.body)
    except ValueError as refusal:
        return _rejected_rows(upload.id, [adms.RejectedLine(1, upload.body[:80].decode("utf-8", "backslashreplace"),
                                                            str(refusal))], now)
    session.execute(insert_for(session, tables.punch_photos).on_conflict_do_nothing().values(
        device_serial=upload.device_serial, pin=photo.pin, local_time=photo.local_time, photo=photo.photo,
        upload_id=upload.id, received_at=now))
    return []


REJECTED = Counter("kinerja_attendance_rejected_lines_total", "Device upload lines refused, by reason", ["reason"])


def _rejected_rows(upload_id: int | None, rejected: Iterable[adms.RejectedLine], now: datetime) -> list[dict]:
    rejected = list(rejected)
    for line in rejected:
        REJECTED.labels(adms.reason_kind(line.reason)).inc()
    # PostgreSQL text cannot hold NUL, which garbage lines do contain: keep it visible, escaped.
    return [{"upload_id": upload_id, "line_no": r.line_no, "raw": r.raw.replace("\x00", "\\x00"),
             "reason": r.reason.replace("\x00", "\\x00"), "rejected_at": now} for r in rejected]


def _store_device_users(session: Session, serial: str, users: Iterable[adms.UserInfo], now: datetime) -> None:
    latest = {user.pin: user for user in users}
    if not latest:
        return
    u = tables.device_users.c
    session.execute(tables.device_users.delete().where(u.device_serial == serial, u.pin.in_(sorted(latest))))
    session.execute(insert(tables.device_users), [{
        "device_serial": serial, "pin": user.pin, "name": user.name[:300], "privilege": user.privilege,
        "card": user.card[:64], "updated_at": now} for user in latest.values()])
