"""The transactional outbox and the inbox: tables every service adds to its own metadata.

A handler writes its state change and its outgoing events in one transaction (`publish`); the relay
sends them later. A consumer records each processed `event_id` in the inbox in the same transaction as
the effect, so a redelivered event changes nothing.

`publish` is the one way to write events, one or thousands (`runtime.events.make_events` makes many of
one type together): they are written in one statement (`runtime.db.insert_rows`).
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, MetaData, String, Table, Text
from sqlalchemy.orm import Session

from runtime.db import insert_rows
from runtime.events import Event
from runtime.wakeup import OUTBOX_CHANNEL, notify


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
    """Write `events` to the outbox inside the caller's transaction (one statement however many), and wake the
    relay when it commits (PostgreSQL NOTIFY, `runtime.wakeup`)."""
    if not events:
        return
    now = datetime.now(timezone.utc)
    insert_rows(session, _table(session, "outbox"), [
        {"event_id": e.event_id, "topic": e.topic, "key": e.key, "type": e.type, "payload": e.to_json(),
         "created_at": now} for e in events])
    notify(session, OUTBOX_CHANNEL)


def claim(session: Session, consumer: str, events: list[Event]) -> list[Event]:
    """Record `events` in this consumer's inbox inside the caller's transaction; return those not recorded
    before (each once, in order): the ones to apply. One INSERT ... ON CONFLICT DO NOTHING RETURNING, so the
    inbox key decides, whatever PostgreSQL's statistics say about a young, fast-growing inbox (a look-up by an
    IN list was planned as a scan of the whole inbox there, 60 ms a batch at 50,000 rows), written as
    `runtime.db.insert_rows` writes any batch."""
    inbox = _table(session, "inbox")
    first: dict[str, Event] = {}
    for event in events:
        first.setdefault(event.event_id, event)  # the first of an event repeated in the batch, in batch order
    if not first:
        return []
    now = datetime.now(timezone.utc)
    new = {row.event_id for row in insert_rows(session, inbox, [
        {"consumer": consumer, "event_id": e.event_id, "type": e.type, "processed_at": now} for e in first.values()],
        ignore_conflicts=True, returning=("event_id",))}
    return [event for event in first.values() if event.event_id in new]
