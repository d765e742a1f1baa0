"""Wake a background loop when a row it waits for is committed, instead of sleeping on a timer.

On PostgreSQL the writer calls `notify(session, channel)` inside its transaction (PostgreSQL delivers the
notification at commit, and never for a rolled-back transaction; several in one transaction arrive as one); the
loop holds a `Wakeup`, which LISTENs on its own connection. `wait` returns as soon as a notification arrives, or
after `poll_s` as a safety net (a notification is lost if the listening connection drops, so the loop still
looks now and then). On other databases (SQLite) `wait` polls every `fallback_s`.

The loop's order matters: `listen()`, then look for work, then `wait()` only if there was none; a commit after
`listen()` is never missed, and a fresh connection makes the first `wait` return at once (it may have missed
one while connecting).
"""
from __future__ import annotations

import logging
import threading

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from runtime.db import own_connection

log = logging.getLogger(__name__)
OUTBOX_CHANNEL = "kinerja_outbox"  # runtime.messaging.publish notifies it; the relay waits on it
_STOP_CHECK_S = 0.5  # how often a wait without notifications looks at its stop event


def notify(session: Session, channel: str) -> None:
    """Notify `channel` when the session's transaction commits (nothing elsewhere than PostgreSQL)."""
    if session.bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})


class Wakeup:
    """Waits for a NOTIFY on `channel` of `engine`'s database (PostgreSQL) or polls (elsewhere)."""

    def __init__(self, engine: Engine, channel: str, poll_s: float = 5.0, fallback_s: float = 0.2):
        self.engine = engine
        self.channel = channel
        self.poll_s = poll_s
        self.fallback_s = fallback_s
        self.listens = engine.dialect.name == "postgresql"
        self.connection: psycopg.Connection | None = None
        self.missed = False  # a connection was (re)opened since the last wait: something may have been missed

    def listen(self) -> None:
        """Make sure the listening connection is open (call before looking for work)."""
        if not self.listens or self.connection is not None:
            return
        try:
            self.connection = own_connection(self.engine, f"wakeup:{self.channel}")
            self.connection.execute(f'LISTEN "{self.channel}"')
        except psycopg.Error as exc:
            log.warning("cannot listen; polling", extra={"channel": self.channel, "error": repr(exc)})
            self.close()
        self.missed = True

    def wait(self, stop: threading.Event) -> bool:
        """Wait for a notification, `poll_s` at most (or `fallback_s` without one); True if one arrived.
        Returns early when `stop` is set."""
        if self.connection is None:
            if self.listens:
                self.listen()
                if self.connection is not None:
                    return True
            stop.wait(self.fallback_s)
            return False
        if self.missed:
            self.missed = False
            return True
        waited = 0.0
        try:
            while waited < self.poll_s and not stop.is_set():
                slice_s = min(_STOP_CHECK_S, self.poll_s - waited)
                if any(True for _ in self.connection.notifies(timeout=slice_s, stop_after=1)):
                    for _ in self.connection.notifies(timeout=0):  # several commits, one wake-up
                        pass
                    return True
                waited += slice_s
        except psycopg.Error as exc:
            log.warning("listening connection lost", extra={"channel": self.channel, "error": repr(exc)})
            self.close()
        return False

    def close(self) -> None:
        """Close the listening connection (the next `listen` opens another)."""
        if self.connection is not None:
            try:
                self.connection.close()
            except psycopg.Error:
                pass
            self.connection = None
