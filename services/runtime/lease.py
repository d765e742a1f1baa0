"""One holder at a time of a named role, across processes and machines: the outbox relay of a service.

Every instance of a service may run its relay (on several machines, for failover), but only one sends: two
relays reading the same outbox would send its rows twice and interleave them, breaking the per-key order the
consumers rely on. The holder keeps a PostgreSQL session advisory lock on a connection of its own; PostgreSQL
releases it when that connection ends (the process crashed, the machine or the network went away), and a
standby, asking again every few seconds, takes over. The holder checks its connection at most every
`check_s`: after losing it, it may send for that long before it notices, and the consumers' inboxes drop the
duplicates. On SQLite (one machine, the embedded default) the lease is always held.
"""
from __future__ import annotations

import hashlib
import logging
import time

import psycopg
from sqlalchemy.engine import Engine

from runtime.db import own_connection

log = logging.getLogger(__name__)


def lease_key(name: str) -> int:
    """The advisory lock's key of a role name (a signed 64-bit integer, the same in every process)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


class Lease:
    """`held()` is True while this process holds role `name` (taking it when it is free)."""

    def __init__(self, engine: Engine, name: str, check_s: float = 1.0):
        self.engine = engine
        self.name = name
        self.key = lease_key(name)
        self.check_s = check_s
        self.exclusive = engine.dialect.name == "postgresql"
        self.connection: psycopg.Connection | None = None
        self.holding = False
        self.checked_at = 0.0

    def held(self) -> bool:
        """Whether this process holds the role now; asks for it when it does not."""
        if not self.exclusive:
            return True
        now = time.monotonic()
        if self.holding and now - self.checked_at < self.check_s:
            return True
        try:
            if self.connection is None:
                self.connection = own_connection(self.engine, f"lease:{self.name}")
            if self.holding:
                self.connection.execute("SELECT 1")  # the lock lives as long as this connection
            else:
                self.holding = bool(self.connection.execute("SELECT pg_try_advisory_lock(%s)",
                                                            (self.key,)).fetchone()[0])
                if self.holding:
                    log.info("lease taken", extra={"lease": self.name})
            self.checked_at = now
        except psycopg.Error as exc:
            if self.holding:
                log.warning("lease lost with its connection", extra={"lease": self.name, "error": repr(exc)})
            self.close()
        return self.holding

    def close(self) -> None:
        """Give the role up: unlock, then close the connection. (Closing alone releases the lock too, but only once
        the server's backend has ended, a moment after the client returns: a standby asking in that moment was
        refused.)"""
        holding, self.holding = self.holding, False
        if self.connection is not None:
            try:
                if holding:
                    self.connection.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
            except psycopg.Error:  # the connection is gone already: so is the lock
                pass
            try:
                self.connection.close()
            except psycopg.Error:  # pragma: no cover - closing a broken connection
                pass
            self.connection = None
