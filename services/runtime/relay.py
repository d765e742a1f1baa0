"""The outbox relay: publishes committed outbox rows with an idempotent producer, then marks them sent.

A crash after the publish and before the mark re-sends those rows on restart; consumers drop the
duplicates through their inbox. A crash before the publish loses nothing: the rows stay unsent.

The relay is pipelined: it keeps handing the next rows to the producer while the broker acknowledges the
earlier ones, and marks rows sent as their acknowledgements arrive, always a **prefix** of what it sent (in
outbox order): a row is marked only once it and every row sent before it are acknowledged. So a failed send
never lets a later row be marked while an earlier one is not (whatever their keys); on a failure everything
not yet marked is sent again, from the outbox, in order. The producer (`runtime.kafka.make_producer`:
idempotent, at most 5 requests in flight per connection) keeps each partition's order across its retries.

When it has caught up it waits for the next outbox commit (`runtime.wakeup`: PostgreSQL NOTIFY, sent by
`runtime.messaging.publish` in the writer's transaction), with a slow poll as a safety net; on SQLite it polls.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone

from prometheus_client import Counter
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from runtime.db import among
from runtime.kafka import Backoff
from runtime.lease import Lease
from runtime.uow import unit_of_work
from runtime.wakeup import OUTBOX_CHANNEL, Wakeup

log = logging.getLogger(__name__)
RELAYED = Counter("kinerja_outbox_relayed_total", "Outbox rows published to Kafka", ["service"])
PUBLISH_ERRORS = Counter("kinerja_outbox_publish_errors_total", "Relay batches that failed (retried)", ["service"])


def unsent_after(outbox, after_id: int, limit: int):
    """The next `limit` unsent outbox rows after `after_id`, in outbox order: read through the partial index of
    the unsent rows (`runtime.messaging`), so the read stops after its batch."""
    return (select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.payload)
            .where(outbox.c.sent_at.is_(None), outbox.c.id > after_id)
            .order_by(outbox.c.id).limit(limit))


class RelayFailed(Exception):
    """The broker did not acknowledge a row in time, or refused it: the rows not yet marked are sent again."""


class Relay:
    """One service's outbox, sent through one producer, with up to `window` rows awaiting acknowledgement.

    `batch_size` rows are read per statement. Rows are read after the last one handed to the producer; once
    the relay has caught up (a read returns fewer than `batch_size` rows) it waits for every acknowledgement
    and reads from the start of the unsent rows again, so a row whose transaction committed after a later
    id had been read (ids are taken before commit) is sent on the next round, not skipped.

    The statements run on two database threads of the relay's own, each with its own connection: one reads,
    one marks, each in the order asked. While a full batch is handed to the producer the next one is already
    being read, and marks are written while the next rows are sent, so the database's time overlaps the
    producer's instead of adding to it, and a read never waits behind a mark (a mark rewrites its rows and
    costs several times a read). Reading ahead of the marks is safe: a read only looks after the last row
    handed over, and the read from the start of a round waits until every mark is committed.
    """

    def __init__(self, sessions: sessionmaker[Session], producer, service: str, batch_size: int = 1000,
                 window: int = 20000, send_timeout_s: float = 30.0):
        self.sessions = sessions
        self.producer = producer
        self.service = service
        self.batch_size = batch_size
        self.window = window
        self.send_timeout_s = send_timeout_s
        self.pending: deque = deque()  # (outbox id, future, monotonic time handed over), in outbox order
        self.after_id = 0  # the last id handed to the producer in this round
        self.reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"relay-{service}-read")
        self.marker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"relay-{service}-mark")
        self.next_read: Future | None = None  # the batch after `after_id`, read while the last one is sent
        self.marks: deque[Future] = deque()  # marks asked for and not yet known to be committed

    def _read(self, after_id: int) -> list:
        with self.sessions() as session:
            return session.execute(unsent_after(session.info["metadata"].tables["outbox"], after_id,
                                                self.batch_size)).all()

    def _mark(self, ids: list[int]) -> int:
        with unit_of_work(self.sessions) as session:
            outbox = session.info["metadata"].tables["outbox"]
            session.execute(update(outbox).where(among(session, outbox.c.id, ids))
                            .values(sent_at=datetime.now(timezone.utc)))
        RELAYED.labels(self.service).inc(len(ids))
        return len(ids)

    def send_more(self) -> int:
        """Hand the next unsent rows to the producer (without waiting for the broker); return how many."""
        reading, self.next_read = self.next_read, None
        rows = reading.result() if reading is not None else self.reader.submit(self._read, self.after_id).result()
        if len(rows) == self.batch_size:  # probably more behind them: read on while these are sent
            self.next_read = self.reader.submit(self._read, rows[-1].id)
        now = time.monotonic()
        send = self.producer.send
        for row in rows:
            self.pending.append((row.id, send(row.topic, key=row.key, value=row.payload), now))
        if rows:
            self.after_id = rows[-1].id
        return len(rows)

    def settle(self, wait: bool) -> int:
        """Mark sent the acknowledged prefix of the pending rows; with `wait`, wait for every pending row and
        for the marks to be committed. Return how many rows are known marked since the last call. Raises
        RelayFailed if a pending row failed or waited too long."""
        acked, failure = [], None
        pending = self.pending
        while pending:
            row_id, future, handed = pending[0]
            if not future.is_done:
                if not wait:
                    break
                left = self.send_timeout_s - (time.monotonic() - handed)
                if left <= 0 or not _wait(future, left):
                    failure = RelayFailed(f"outbox row {row_id} not acknowledged within {self.send_timeout_s:.0f}s")
                    break
            if future.failed():
                failure = RelayFailed(f"outbox row {row_id} refused: {future.exception!r}")
                break
            acked.append(row_id)
            pending.popleft()
        if acked:  # the prefix before a failure is marked too
            self.marks.append(self.marker.submit(self._mark, acked))
        if failure is not None:
            raise failure
        marked = 0
        while self.marks and (wait or self.marks[0].done()):
            marked += self.marks.popleft().result()
        return marked

    def step(self) -> tuple[int, bool]:
        """One turn of the loop: send more while the window allows, mark what is acknowledged; when caught up,
        wait for every acknowledgement and start the next round. Returns (rows marked, caught up)."""
        read = self.send_more() if len(self.pending) < self.window else self.batch_size
        if read < self.batch_size:  # caught up: push what lingers, settle everything, read from the start again
            if self.pending:
                self.producer.flush(timeout=self.send_timeout_s)
            marked = self.settle(wait=True)
            self.after_id = 0
            return marked, read == 0 and marked == 0
        return self.settle(wait=len(self.pending) >= self.window), False

    def reset(self) -> None:
        """After a failure: forget what is pending (it stays unsent in the outbox and is sent again)."""
        for work in [self.next_read, *self.marks]:
            if work is not None:
                try:
                    work.result()
                except Exception:  # noqa: BLE001 - a failed read or mark leaves the rows unsent: sent again
                    pass
        self.next_read = None
        self.marks.clear()
        try:
            self.producer.flush(timeout=self.send_timeout_s)
        except Exception:  # noqa: BLE001 - the broker may still be away; the rows are sent again anyway
            pass
        self.pending.clear()
        self.after_id = 0

    def close(self) -> None:
        """Finish the statements asked for and stop the database threads."""
        self.reader.shutdown(wait=True, cancel_futures=True)
        self.marker.shutdown(wait=True, cancel_futures=True)


def _wait(future, timeout_s: float) -> bool:
    """Wait until `future` is done (acknowledged or failed); False on timeout."""
    try:
        future.get(timeout=timeout_s)
    except Exception:  # noqa: BLE001 - settle reads the outcome from the future
        pass
    return future.is_done


def relay_once(sessions: sessionmaker[Session], producer, service: str, batch_size: int = 500,
               send_timeout_s: float = 30.0) -> int:
    """Publish one batch of unsent outbox rows in order, wait for their acknowledgements and mark them; return
    how many were sent (a synchronous drain: `while relay_once(...)`)."""
    relay = Relay(sessions, producer, service, batch_size=batch_size, send_timeout_s=send_timeout_s)
    try:
        if not relay.send_more():
            return 0
        producer.flush(timeout=send_timeout_s)
        return relay.settle(wait=True)
    except RelayFailed:
        relay.reset()
        raise
    finally:
        relay.close()


def run_relay(sessions: sessionmaker[Session], producer, service: str, stop: threading.Event,
              idle_wait_s: float = 0.2, backoff: Backoff | None = None, idle_poll_s: float = 5.0,
              standby_s: float = 2.0) -> None:
    """Relay until `stop` is set. When the outbox is empty, wait for the next outbox commit (PostgreSQL
    NOTIFY; at most `idle_poll_s`), or poll every `idle_wait_s` on SQLite; wait with a growing pause while the
    broker or the database fails (an outage never ends the loop; the rows stay unsent until it is over).

    Only the holder of the service's relay lease sends (`runtime.lease`): another instance's relay stands by,
    asking every `standby_s`, and takes over when the holder's database connection ends."""
    backoff = backoff or Backoff()
    relay = Relay(sessions, producer, service)
    wakeup = Wakeup(sessions.kw["bind"], OUTBOX_CHANNEL, poll_s=idle_poll_s, fallback_s=idle_wait_s)
    lease = Lease(sessions.kw["bind"], f"kinerja-relay:{service}")
    standing_by = False
    try:
        while not stop.is_set():
            if not lease.held():
                if not standing_by:
                    log.info("another relay holds the lease; standing by", extra={"service": service})
                    relay.reset()  # what this relay sent and had not marked is the holder's to send again
                    standing_by = True
                stop.wait(standby_s)
                continue
            standing_by = False
            try:
                wakeup.listen()  # before reading: a commit after this point wakes the next wait
                _, idle = relay.step()
            except Exception as exc:  # noqa: BLE001 - the rows stay unsent and are retried
                PUBLISH_ERRORS.labels(service).inc()
                relay.reset()
                pause = backoff.failed()
                log.warning("relay batch failed; retrying", extra={"service": service, "error": repr(exc),
                                                                    "retry_in_s": pause})
                stop.wait(pause)
                continue
            backoff.reset()
            if idle:
                wakeup.wait(stop)
    finally:
        wakeup.close()
        relay.close()
        lease.close()
