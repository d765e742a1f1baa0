"""Scoring on a real PostgreSQL: its app, its consumer handlers fed events, and what it published."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from runtime.consumer import EventConsumer
from runtime.db import make_engine, make_session_factory
from runtime.events import dump_data, parse_event


@dataclass
class Scoring:
    """A scoring service under test: HTTP client, consumer, and a cursor over its outbox."""

    client: object
    sessions: object
    consumer: EventConsumer
    seen: int = 0
    log: list = field(default_factory=list)

    def feed(self, *events) -> list[bool]:
        """Apply events through the consumer (inbox + handler in one transaction); False = duplicate."""
        return [self.consumer.apply(event) for event in events]

    def published(self) -> list[dict]:
        """Events written to the outbox since the last call, in order, as wire JSON."""
        with self.sessions() as session:
            outbox = session.info["metadata"].tables["outbox"]
            rows = session.execute(select(outbox.c.id, outbox.c.payload).where(outbox.c.id > self.seen)
                                   .order_by(outbox.c.id)).all()
        if rows:
            self.seen = rows[-1].id
        wires = [json.loads(row.payload) for row in rows]
        # every payload is what `make_events` would have written: the schema's dump of its data as loaded back
        for row, wire in zip(rows, wires):
            assert wire["data"] == dump_data(wire["type"], parse_event(row.payload).data)
        return wires


@pytest.fixture
def scoring(new_database, make_app):
    """A migrated scoring database, its app and its consumer handlers."""
    from runtime.service import service
    from scoring.tables import metadata
    url = new_database("scoring")
    app = make_app("scoring", url)
    engine = make_engine(url)
    sessions = make_session_factory(engine, metadata)
    handlers = service("scoring").consumer_handlers(app.config["SETTINGS"])
    yield Scoring(app.test_client(), sessions, EventConsumer("scoring", None, None, sessions, handlers))
    engine.dispose()
    app.extensions["kinerja"].engine.dispose()
