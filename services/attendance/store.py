"""The ingest path's storage: the statements the device request and the ingest job run, in their
PostgreSQL form (production) and a portable form (SQLite, for local runs).

Everything dialect-specific of the attendance service lives here; the use cases in `handlers/` call these
functions and never look at the dialect themselves.
"""
from __future__ import annotations

import functools
import operator
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from psycopg.errors import UniqueViolation
from sqlalchemy import String, column, func, insert, select, text, update
from sqlalchemy.orm import Session

from attendance import tables
from runtime.db import array_parameter, insert_for, insert_rows


def _postgresql(session: Session) -> bool:
    return session.bind.dialect.name == "postgresql"


def device(session: Session, serial: str, lock: bool = False):
    """A device's row (locked to the end of the transaction with `lock`, on PostgreSQL), or None."""
    query = select(tables.devices).where(tables.devices.c.device_serial == serial)
    if lock and _postgresql(session):
        query = query.with_for_update()
    return session.execute(query).first()


def add_pending_device(session: Session, serial: str, now: datetime) -> None:
    """Record a serial as a pending device unless it is known already."""
    session.execute(insert_for(session, tables.devices).on_conflict_do_nothing().values(
        device_serial=serial, state="pending", zone=None, options={}, first_seen_at=now, attlog_stamp=0,
        operlog_stamp=0))


# One round trip for a device's contact on PostgreSQL: the upsert of the device (stamps only move
# forward, and only for an approved device), its last contact before this one (`before` reads the
# statement's snapshot), and the raw upload when there is one: always for an approved device, for a pending
# one only while its stored uploads stay within the sample bounds. Every sub-statement sees the same
# snapshot; all commit or roll back together. The sample's sums are a sub-select in the pending branch, run
# only for a pending device (PostgreSQL runs an initplan when it is first needed): an approved device's
# uploads are never counted, however many it has sent (a join to them read all of them on every upload).
_TOUCH_SQL = """
WITH before AS (SELECT last_seen_at FROM devices WHERE device_serial = :serial),
device AS (
    INSERT INTO devices AS d (device_serial, state, zone, options, first_seen_at, last_seen_at, remote_addr,
                              attlog_stamp, operlog_stamp)
    VALUES (:serial, 'pending', NULL, '{}', :now, :now, :addr, 0, 0)
    ON CONFLICT (device_serial) DO UPDATE SET
        last_seen_at = EXCLUDED.last_seen_at, remote_addr = EXCLUDED.remote_addr,
        attlog_stamp = CASE WHEN d.state = 'approved' THEN GREATEST(d.attlog_stamp, :attlog_stamp)
                       ELSE d.attlog_stamp END,
        operlog_stamp = CASE WHEN d.state = 'approved' THEN GREATEST(d.operlog_stamp, :operlog_stamp)
                        ELSE d.operlog_stamp END,
        attlog_stamp_text = CASE WHEN d.state = 'approved'
                            THEN GREATEST(d.attlog_stamp_text, CAST(:attlog_stamp_text AS varchar))
                            ELSE d.attlog_stamp_text END,
        operlog_stamp_text = CASE WHEN d.state = 'approved'
                             THEN GREATEST(d.operlog_stamp_text, CAST(:operlog_stamp_text AS varchar))
                             ELSE d.operlog_stamp_text END
    RETURNING d.device_serial, d.state, d.zone, d.last_seen_at, d.remote_addr, d.attlog_stamp, d.operlog_stamp,
              d.attlog_stamp_text, d.operlog_stamp_text, d.options, d.first_seen_at, d.approved_at, d.approved_by,
              d.allowed_networks, d.comm_key_digest
),
upload AS (
    INSERT INTO raw_uploads (device_serial, table_name, stamp, received_at, body)
    SELECT device_serial, CAST(:table_name AS varchar), CAST(:stamp AS varchar), :now, CAST(:body AS bytea)
    FROM device WHERE CAST(:store AS boolean) AND CASE
        WHEN device.state = 'approved' THEN true
        WHEN device.state = 'pending' THEN (
            SELECT count(*) < :sample_uploads
                   AND coalesce(sum(octet_length(body)), 0) + octet_length(CAST(:body AS bytea)) <= :sample_bytes
            FROM raw_uploads WHERE device_serial = :serial)
        ELSE false END
    RETURNING id
)
SELECT device.*, (SELECT last_seen_at FROM before) AS previous_seen_at, (SELECT id FROM upload) AS upload_id,
       (SELECT pg_notify(:channel, '') FROM upload WHERE device.state = 'approved') AS notified
FROM device
"""
UPLOADS_CHANNEL = "kinerja_attendance_uploads"  # an approved device's stored upload wakes the ingest job at commit


_TOUCH_COLUMNS = ("device_serial", "state", "zone", "last_seen_at", "remote_addr", "attlog_stamp", "operlog_stamp",
                  "attlog_stamp_text", "operlog_stamp_text", "options", "first_seen_at", "approved_at", "approved_by",
                  "allowed_networks", "comm_key_digest", "previous_seen_at", "upload_id", "notified")


@functools.cache
def _touch_sql():
    # its columns named in order (untyped: the values stay as the driver reads them), so that SQLAlchemy keeps the
    # result's description with the compiled statement instead of working it out from the cursor at every call
    return text(_TOUCH_SQL).columns(*(column(name) for name in _TOUCH_COLUMNS))


STAMP_COLUMNS = ("attlog_stamp", "operlog_stamp", "attlog_stamp_text", "operlog_stamp_text")


@dataclass(frozen=True)
class Contact:
    """What a device's contact did: its row after it, its previous last contact, whether the upload was kept."""

    row: object
    previous_seen_at: datetime | None
    stored: bool


def touch(session: Session, serial: str, addr: str | None, now: datetime, stamps: dict,
          upload: dict | None, sample_uploads: int, sample_bytes: int) -> Contact:
    """Upsert a device's contact and store `upload` (`table_name`, `stamp`, `body`).

    An approved device's stamps (numbers or ISO date-times by STAMP_COLUMNS) only move forward and its
    upload is always stored; a pending device's stamps stay, and its upload is stored only while the
    device's stored uploads stay within `sample_uploads` bodies and `sample_bytes` bytes; a disabled
    device's never."""
    if _postgresql(session):
        row = session.execute(_touch_sql(), {
            "serial": serial, "now": now, "addr": addr, "attlog_stamp": stamps.get("attlog_stamp", 0),
            "operlog_stamp": stamps.get("operlog_stamp", 0), "attlog_stamp_text": stamps.get("attlog_stamp_text"),
            "operlog_stamp_text": stamps.get("operlog_stamp_text"), "store": upload is not None,
            "sample_uploads": sample_uploads, "sample_bytes": sample_bytes, "channel": UPLOADS_CHANNEL,
            **(upload or {"table_name": None, "stamp": None, "body": None})}).one()
        return Contact(row, row.previous_seen_at, row.upload_id is not None)
    add_pending_device(session, serial, now)
    current = device(session, serial)
    values = {"last_seen_at": now, "remote_addr": addr}
    if current.state == "approved":
        for column, stamp in stamps.items():
            values[column] = max(stamp, getattr(current, column) or type(stamp)())
    session.execute(update(tables.devices).where(tables.devices.c.device_serial == serial).values(values))
    row = device(session, serial)
    store = upload is not None and (row.state == "approved" or (
        row.state == "pending" and _within_sample(session, serial, len(upload["body"]), sample_uploads,
                                                  sample_bytes)))
    if store:
        session.execute(insert(tables.raw_uploads).values(device_serial=serial, received_at=now, **upload))
    return Contact(row, current.last_seen_at, store)


def _within_sample(session: Session, serial: str, size: int, sample_uploads: int, sample_bytes: int) -> bool:
    r = tables.raw_uploads.c
    uploads, stored = session.execute(select(func.count(), func.coalesce(func.sum(func.length(r.body)), 0))
                                      .where(r.device_serial == serial)).one()
    return uploads < sample_uploads and stored + size <= sample_bytes


def claim_pending(session: Session, limit: int | None, device_serial: str | None = None) -> list:
    """Unprocessed uploads of approved devices, oldest first; on PostgreSQL locked with `SKIP LOCKED`, so
    several workers never take the same upload."""
    r, d = tables.raw_uploads.c, tables.devices.c
    query = (select(r.id, r.device_serial, r.table_name, r.body, d.zone)
             .join(tables.devices, d.device_serial == r.device_serial)
             .where(r.processed_at.is_(None), d.state == "approved").order_by(r.id))
    if device_serial is not None:
        query = query.where(r.device_serial == device_serial)
    if limit is not None:
        query = query.limit(limit)
    if _postgresql(session):
        query = query.with_for_update(of=tables.raw_uploads, skip_locked=True)
    return session.execute(query).all()


def lock_matching(session: Session, serials: Iterable[str], exclusive: bool = False) -> None:
    """Serialise matching PINs to employees per device (PostgreSQL advisory locks, held to the commit).

    Storing punches takes the shared lock, a new enrolment the exclusive one: without it, an enrolment
    committed while a batch is being stored would miss that batch's punches, and the batch would not see
    the enrolment, leaving punches unmatched for ever. SQLite has one writer at a time anyway.
    """
    serials = sorted(set(serials))
    if not serials or not _postgresql(session):
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    session.execute(text(f"SELECT {function}(k) FROM (SELECT hashtextextended(s, 3) AS k "
                         "FROM unnest(CAST(:serials AS text[])) AS s ORDER BY 1) AS keys"), {"serials": serials})


PUNCH_COLUMNS = ("id", "device_serial", "pin", "employee_id", "source", "at", "local_time", "zone", "local_date",
                 "device_status", "verify")


def enrolled_pairs(session: Session, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(device serial, PIN) -> employee id for the active enrolments among `pairs`."""
    if not pairs:
        return {}
    e = tables.enrolments.c
    rows = session.execute(select(e.device_serial, e.pin, e.employee_id).where(
        e.active.is_(True), e.device_serial.in_(sorted({s for s, _ in pairs})),
        e.pin.in_(sorted({p for _, p in pairs}))))
    return {(r.device_serial, r.pin): r.employee_id for r in rows if (r.device_serial, r.pin) in pairs}


def insert_punches(session: Session, rows: list[dict]) -> list:
    """Insert punches in one statement, skipping those already stored; return the new ones (PUNCH_COLUMNS).

    Callers pass the rows in one order (the punch key), so concurrent workers inserting the same keys
    wait for each other rather than deadlock.
    """
    return insert_rows(session, tables.punches, rows, ignore_conflicts=True, returning=PUNCH_COLUMNS)


DEVICE_PUNCH_FIELDS = ("device_serial", "pin", "sequence", "at", "local_time", "zone", "device_status", "verify",
                       "upload_id")

# A batch of device punches' ids and enrolments on PostgreSQL, in one round trip and in the rows' order: each row's id
# drawn from the punches' sequence (the column's default) and the employee its (device, PIN) is actively enrolled
# as, by the enrolments' primary key (no cross product of the batch's serials and PINs).
@functools.cache
def _ids_and_enrolments_sql():
    return text("""
SELECT nextval('punches_id_seq'),
       (SELECT e.employee_id FROM enrolments AS e WHERE e.device_serial = k.serial AND e.pin = k.pin AND e.active)
FROM unnest(:serials, :pins) WITH ORDINALITY AS k(serial, pin, n)
ORDER BY k.n
""").bindparams(array_parameter("serials", String()), array_parameter("pins", String()))


_PUNCH_ROW = operator.itemgetter(*PUNCH_COLUMNS)


def insert_device_punches(session: Session, rows: list[dict], now: datetime) -> list:
    """Insert punches read from device uploads (`DEVICE_PUNCH_FIELDS`: source `adms`, recorded at `now`), each
    matched to the employee its (device, PIN) is actively enrolled as, skipping those already stored; return
    the new ones (PUNCH_COLUMNS) in the order given (see `insert_punches` for that order). Each row is completed
    in place with the punch's other columns.

    On PostgreSQL the rows are first written by a plain binary COPY under a savepoint, with their ids and
    enrolments read beforehand: a batch of new punches, nearly every batch, costs a third of what `INSERT ...
    ON CONFLICT DO NOTHING RETURNING` costs there (that statement's per-row insertion and its speculative
    checks of every unique index). A punch stored before (a device sending an upload again) makes the COPY
    fail whole, which rolls back to the savepoint, and the rows then go through `insert_punches`, which skips
    the stored ones. Such a refused COPY is an ERROR in PostgreSQL's log, with its statement."""
    if not rows:
        return []
    if _postgresql(session):
        matches = session.execute(_ids_and_enrolments_sql(), {
            "serials": [r["device_serial"] for r in rows], "pins": [r["pin"] for r in rows]}).all()
        for row, (punch_id, employee_id) in zip(rows, matches):
            row.update(id=punch_id, employee_id=employee_id, source="adms", local_date=row["local_time"].date(),
                       recorded_at=now)
        try:
            with session.begin_nested():
                insert_rows(session, tables.punches, rows)
            return [_PUNCH_ROW(row) for row in rows]
        except UniqueViolation:
            pass  # some were stored before: the savepoint is rolled back, and the stored ones skipped below
    else:
        enrolled = enrolled_pairs(session, {(r["device_serial"], r["pin"]) for r in rows})
        for row in rows:
            row.update(employee_id=enrolled.get((row["device_serial"], row["pin"])), source="adms",
                       local_date=row["local_time"].date(), recorded_at=now)
    return insert_punches(session, rows)
