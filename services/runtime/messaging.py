"""The transactional outbox and the inbox: tables every service adds to its own metadata.

A handler writes its state change and its outgoing events in one transaction (`publish`); the relay
sends them later. A consumer records each processed `event_id` in the inbox in the same transaction as
the effect, so a redelivered event changes nothing.

`publish` is the one way to write events, one or thousands (`runtime.events.make_events` makes many of
one type together): they are written in one statement (`insert_rows`).
"""
from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import date, datetime, timezone

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, MetaData, String, Table, Text, text
from sqlalchemy.orm import Session

from runtime.db import insert_for
from runtime.events import Event


def add_messaging_tables(metadata: MetaData) -> tuple[Table, Table]:
    """Add the `outbox` and `inbox` tables to a service's metadata; return them."""
    outbox = Table(
        "outbox", metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("topic", String(200), nullable=False),
        Column("key", String(200), nullable=False),
        Column("type", String(200), nullable=False),
        Column("payload", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("sent_at", DateTime(timezone=True), nullable=True),
        Index("ix_outbox_unsent", "sent_at", "id"),
    )
    inbox = Table(
        "inbox", metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        Column("type", String(200), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False),
    )
    return outbox, inbox


def _table(session: Session, name: str) -> Table:
    metadata = session.info.get("metadata")
    if metadata is None or name not in metadata.tables:
        raise RuntimeError(f"no {name} table: build sessions with runtime.db.make_session_factory(engine, metadata)")
    return metadata.tables[name]


def publish(session: Session, *events: Event) -> None:
    """Write `events` to the outbox inside the caller's transaction (one statement however many)."""
    if not events:
        return
    now = datetime.now(timezone.utc)
    insert_rows(session, _table(session, "outbox"), [
        {"event_id": e.event_id, "topic": e.topic, "key": e.key, "type": e.type, "payload": e.to_json(),
         "created_at": now} for e in events])


def _json_value(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@functools.cache
def _recordset_sql(table: Table, columns: tuple[str, ...], ignore_conflicts: bool, returning: tuple[str, ...]):
    from sqlalchemy.dialects import postgresql
    dialect = postgresql.dialect()
    names = ", ".join(f'"{c}"' for c in columns)
    record = ", ".join(f'"{c}" {table.c[c].type.compile(dialect=dialect)}' for c in columns)
    suffix = (" ON CONFLICT DO NOTHING" if ignore_conflicts else "") + (
        " RETURNING " + ", ".join(f'"{c}"' for c in returning) if returning else "")
    return text(f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM json_to_recordset(CAST(:rows AS json)) '
                f"AS r({record}){suffix}")


def insert_rows(session: Session, table: Table, rows: Sequence[dict], ignore_conflicts: bool = False,
                returning: tuple[str, ...] = ()) -> list:
    """Insert `rows` (all with the same keys) in one statement, in order; with `ignore_conflicts` a row that
    violates a unique constraint is skipped. Returns the rows inserted, with the `returning` columns.

    On PostgreSQL the whole batch travels as one JSON parameter (`json_to_recordset`, encoded and decoded
    in C): one short statement however many rows, where a multi-row VALUES list of thousands of
    placeholders costs more to build and parse than the insert itself. Elsewhere (SQLite) it is an
    executemany of the dialect's INSERT.
    """
    if not rows:
        return []
    if session.bind.dialect.name == "postgresql":
        columns = tuple(rows[0])
        result = session.execute(_recordset_sql(table, columns, ignore_conflicts, tuple(returning)),
                                 {"rows": json.dumps(list(rows), default=_json_value)})
        return result.all() if returning else []
    statement = insert_for(session, table)
    if ignore_conflicts:
        statement = statement.on_conflict_do_nothing()
    if returning:
        return session.execute(statement.returning(*(table.c[c] for c in returning)), list(rows)).all()
    session.execute(statement, list(rows))
    return []


def claim(session: Session, consumer: str, events: list[Event]) -> list[Event]:
    """Record `events` in this consumer's inbox inside the caller's transaction; return those not recorded
    before (each once, in order): the ones to apply. One INSERT ... ON CONFLICT DO NOTHING RETURNING, so the
    inbox key decides, whatever PostgreSQL's statistics say about a young, fast-growing inbox (a look-up by an
    IN list was planned as a scan of the whole inbox there, 60 ms a batch at 50,000 rows)."""
    inbox = _table(session, "inbox")
    first: dict[str, Event] = {}
    for event in events:
        first.setdefault(event.event_id, event)  # the first of an event repeated in the batch, in batch order
    if not first:
        return []
    now = datetime.now(timezone.utc)
    statement = (insert_for(session, inbox).on_conflict_do_nothing(index_elements=["consumer", "event_id"])
                 .returning(inbox.c.event_id))
    new = set(session.execute(statement, [{"consumer": consumer, "event_id": e.event_id, "type": e.type,
                                           "processed_at": now} for e in first.values()]).scalars())
    return [event for event in first.values() if event.event_id in new]
