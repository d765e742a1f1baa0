"""The transactional outbox and the inbox: tables every service adds to its own metadata.

A handler writes its state change and its outgoing events in one transaction (`publish`); the relay
sends them later and deletes each row once the broker has it. A consumer records each processed `event_id` in
the inbox in the same transaction as the effect, so a redelivered event changes nothing.

`publish` is the one way to write events, one or thousands (`runtime.events.make_events` makes many of
one type together): they are written in one statement (`runtime.db.insert_rows`).
"""
from __future__ import annotations

from datetime import datetime, timezone

from psycopg.errors import UniqueViolation
from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, String, Table, Text, text
from sqlalchemy.orm import Session

from runtime.db import insert_rows
from runtime.events import Event
from runtime.wakeup import OUTBOX_CHANNEL, notify


# The outbox holds the rows not yet sent, and only them: the relay reads them in id order through the primary key, a
# batch at a time, and deletes each row once the broker has acknowledged it (`runtime.relay`). (Sent rows used to be
# kept and marked: an UPDATE copies the whole row with its payload, about 1 kB of WAL and 10 µs of PostgreSQL's CPU
# per row, ten times a DELETE's, and the table grew for ever. The record of what was sent is the topic itself.)


def add_messaging_tables(metadata: MetaData) -> tuple[Table, Table]:
    """Add the `outbox` and `inbox` tables to a service's metadata; return them."""
    outbox = Table(
        "outbox", metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False),  # not unique: see `unindex_event_ids` below
        Column("topic", String(200), nullable=False),
        Column("key", String(200), nullable=False),
        Column("type", String(200), nullable=False),
        Column("payload", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
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


def claim(session: Session, consumer: str, events: list[Event], *, redelivery_possible: bool = False) -> list[Event]:
    """Record `events` in this consumer's inbox inside the caller's transaction; return those not recorded
    before (each once, in order): the ones to apply. The inbox key decides, whatever PostgreSQL's statistics say
    about a young, fast-growing inbox (a look-up by an IN list was planned as a scan of the whole inbox there,
    60 ms a batch at 50,000 rows).

    On PostgreSQL a poll's events are almost always all new, so they are first written as a plain insert (a COPY,
    `runtime.db.insert_rows`) under a savepoint: the key refuses the whole insert if any was recorded before, or
    by another instance meanwhile (the COPY waits for that instance's transaction, as any insert of the same key
    would), and the savepoint is rolled back. Only then does each row go through INSERT ... ON CONFLICT DO NOTHING
    RETURNING, which skips the recorded ones: its speculative insertion cost 8 µs of PostgreSQL per event, the
    COPY about 5. Elsewhere (SQLite) that statement is the only one.

    `redelivery_possible`: the caller knows the poll may hold events recorded before (a poll after a rewind, the
    first polls of a partition newly assigned to it), so the poll goes straight to the statement that skips them.
    A refused COPY is an ERROR in PostgreSQL's log, with its statement: one for every restart or rebalance would
    page whoever alerts on those lines."""
    inbox = _table(session, "inbox")
    first: dict[str, Event] = {}
    for event in events:
        first.setdefault(event.event_id, event)  # the first of an event repeated in the batch, in batch order
    if not first:
        return []
    now = datetime.now(timezone.utc)
    rows = [{"consumer": consumer, "event_id": e.event_id, "type": e.type, "processed_at": now}
            for e in first.values()]
    if session.bind.dialect.name == "postgresql" and not redelivery_possible:
        try:
            with session.begin_nested():
                insert_rows(session, inbox, rows)
            return list(first.values())
        except UniqueViolation:
            pass  # some were recorded before: the savepoint is rolled back, and the conflicts are skipped below
    new = {row.event_id for row in insert_rows(session, inbox, rows, ignore_conflicts=True, returning=("event_id",))}
    return [event for event in first.values() if event.event_id in new]


# Migration steps that earlier revisions of every service's outbox call (they run in order, so each keeps its
# meaning): the (sent_at, id) index replaced by a partial index of the unsent ids, then the sent rows forgotten.
_UNSENT_ONLY = {"postgresql_where": text("sent_at IS NULL"), "sqlite_where": text("sent_at IS NULL")}


def index_unsent_rows_only(op) -> None:
    """Migration step (every service's outbox): replace the (sent_at, id) index with a partial one on the unsent
    rows' ids."""
    op.drop_index("ix_outbox_unsent", table_name="outbox")
    op.create_index("ix_outbox_unsent", "outbox", ["id"], **_UNSENT_ONLY)


def index_every_row_again(op) -> None:
    """The step back: the (sent_at, id) index on every outbox row."""
    op.drop_index("ix_outbox_unsent", table_name="outbox")
    op.create_index("ix_outbox_unsent", "outbox", ["sent_at", "id"])


def forget_sent_rows(op) -> None:
    """Migration step (every service's outbox): the outbox keeps only unsent rows (the relay deletes a row once it
    is acknowledged): the rows already sent are deleted, and `sent_at` and its partial index dropped."""
    op.execute("DELETE FROM outbox WHERE sent_at IS NOT NULL")
    op.drop_index("ix_outbox_unsent", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("sent_at")


def keep_sent_rows_again(op) -> None:
    """The step back: `sent_at` (every remaining row unsent) and the partial index of the unsent ids."""
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(Column("sent_at", DateTime(timezone=True), nullable=True))
    op.create_index("ix_outbox_unsent", "outbox", ["id"], **_UNSENT_ONLY)


# Each service's outbox kept its event ids unique until `unindex_event_ids`. The index guaranteed nothing once sent rows
# were deleted (an id sent and forgotten could be written again), nothing relies on it (a redelivered or repeated event
# is the inbox's to skip, `claim`), and its random keys were half of PostgreSQL's CPU for every row written to the
# outbox: a COPY of 200,000 rows cost 7.7-9.5 µs a row with it and 4.2-4.5 without (docs/PERFORMANCE.md).
_EVENT_ID_KEY = "outbox_event_id_key"  # PostgreSQL's name for the unnamed constraint; SQLite's, by the convention below
_NAMED_AS_POSTGRESQL = {"uq": "%(table_name)s_%(column_0_name)s_key"}


def unindex_event_ids(op) -> None:
    """Migration step (every service's outbox): drop the unique constraint on the outbox's event ids."""
    with op.batch_alter_table("outbox", naming_convention=_NAMED_AS_POSTGRESQL) as batch:
        batch.drop_constraint(_EVENT_ID_KEY, type_="unique")


def index_event_ids_again(op) -> None:
    """The step back: the outbox's event ids unique again."""
    with op.batch_alter_table("outbox", naming_convention=_NAMED_AS_POSTGRESQL) as batch:
        batch.create_unique_constraint(_EVENT_ID_KEY, ["event_id"])
