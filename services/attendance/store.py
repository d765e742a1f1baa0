"""The ingest path's storage: the statements the device request and the ingest job run, in their
PostgreSQL form (production) and a portable form (SQLite, for local runs).

Everything dialect-specific of the attendance service lives here; the use cases in `handlers/` call these
functions and never look at the dialect themselves.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from attendance import tables
from runtime.db import insert_for
from runtime.messaging import insert_rows


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
# forward), its last contact before this one (`before` reads the statement's snapshot), and the raw
# upload when there is one. Every sub-statement sees the same snapshot; all commit or roll back together.
_TOUCH_SQL = """
WITH before AS (SELECT last_seen_at FROM devices WHERE device_serial = :serial),
device AS (
    INSERT INTO devices AS d (device_serial, state, zone, options, first_seen_at, last_seen_at, remote_addr,
                              attlog_stamp, operlog_stamp, attlog_stamp_text, operlog_stamp_text)
    VALUES (:serial, 'pending', NULL, '{}', :now, :now, :addr, :attlog_stamp, :operlog_stamp,
            CAST(:attlog_stamp_text AS varchar), CAST(:operlog_stamp_text AS varchar))
    ON CONFLICT (device_serial) DO UPDATE SET
        last_seen_at = EXCLUDED.last_seen_at, remote_addr = EXCLUDED.remote_addr,
        attlog_stamp = GREATEST(d.attlog_stamp, EXCLUDED.attlog_stamp),
        operlog_stamp = GREATEST(d.operlog_stamp, EXCLUDED.operlog_stamp),
        attlog_stamp_text = GREATEST(d.attlog_stamp_text, EXCLUDED.attlog_stamp_text),
        operlog_stamp_text = GREATEST(d.operlog_stamp_text, EXCLUDED.operlog_stamp_text)
    RETURNING d.device_serial, d.state, d.zone, d.last_seen_at, d.remote_addr, d.attlog_stamp, d.operlog_stamp,
              d.attlog_stamp_text, d.operlog_stamp_text, d.options, d.first_seen_at, d.approved_at, d.approved_by
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


STAMP_COLUMNS = ("attlog_stamp", "operlog_stamp", "attlog_stamp_text", "operlog_stamp_text")


def touch(session: Session, serial: str, addr: str | None, now: datetime, stamps: dict,
          upload: dict | None):
    """Upsert a device's contact (stamps, numbers or ISO date-times by STAMP_COLUMNS, only move forward) and
    store `upload` (`table_name`, `stamp`, `body`) unless the device is disabled; return (the device's row,
    its previous last contact)."""
    if _postgresql(session):
        row = session.execute(_touch_sql(), {
            "serial": serial, "now": now, "addr": addr, "attlog_stamp": stamps.get("attlog_stamp", 0),
            "operlog_stamp": stamps.get("operlog_stamp", 0), "attlog_stamp_text": stamps.get("attlog_stamp_text"),
            "operlog_stamp_text": stamps.get("operlog_stamp_text"), "store": upload is not None,
            **(upload or {"table_name": None, "stamp": None, "body": None})}).one()
        return row, row.previous_seen_at
    add_pending_device(session, serial, now)
    current = device(session, serial)
    values = {"last_seen_at": now, "remote_addr": addr}
    for column, stamp in stamps.items():
        values[column] = max(stamp, getattr(current, column) or type(stamp)())
    session.execute(update(tables.devices).where(tables.devices.c.device_serial == serial).values(values))
    row = device(session, serial)
    if upload is not None and row.state != "disabled":
        session.execute(insert(tables.raw_uploads).values(device_serial=serial, received_at=now, **upload))
    return row, current.last_seen_at


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


def insert_punches(session: Session, rows: list[dict]) -> list:
    """Insert punches in one statement, skipping those already stored; return the new ones (PUNCH_COLUMNS).

    Callers pass the rows in one order (the punch key), so concurrent workers inserting the same keys
    wait for each other rather than deadlock.
    """
    return insert_rows(session, tables.punches, rows, ignore_conflicts=True, returning=PUNCH_COLUMNS)
