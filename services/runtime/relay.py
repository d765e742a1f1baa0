"""The outbox relay: publishes committed outbox rows with an idempotent producer, then deletes them (the outbox
holds only rows not yet sent: `runtime.messaging`). "Marking a row sent" below is that delete.

A crash after the publish and before the mark re-sends those rows on restart; consumers drop the
duplicates through their inbox. A crash before the publish loses nothing: the rows stay unsent.

The relay is pipelined: it keeps handing the next rows to the producer while the broker acknowledges the
earlier ones, and marks rows sent as their acknowledgements arrive, always a **prefix** of what it sent (in
outbox order): a row is marked only once it and every row sent before it are acknowledged. So a failed send
never lets a later row be marked while an earlier one is not (whatever their keys); on a failure everything
not yet marked is sent again, from the outbox, in order. The producer (`runtime.kafka.make_producer`:
idempotent, at most 5 requests in flight per connection) keeps each partition's order across its retries; a read's
rows are handed to it at once with `send_all` (each partition's records appended in one loop, one acknowledgement to
wait for per batch rather than a future per record: `runtime.kafka_appends`).

When it has caught up it waits for the next outbox commit (`runtime.wakeup`: PostgreSQL NOTIFY, sent by
`runtime.messaging.publish` in the writer's transaction), with a slow poll as a safety net; on SQLite it polls.
"""
from __future__ import annotations

import functools
import logging
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

from prometheus_client import Counter
from sqlalchemy import any_, bindparam, delete, select
from sqlalchemy.orm import Session, sessionmaker

from runtime.db import among, array_parameter, own_connection
from runtime.kafka import Backoff
from runtime.lease import Lease
from runtime.uow import unit_of_work
from runtime.wakeup import OUTBOX_CHANNEL, Wakeup

log = logging.getLogger(__name__)
RELAYED = Counter("kinerja_outbox_relayed_total", "Outbox rows published to Kafka", ["service"])
# The relay's reads and marks are planned for each execution's values, not once for all: psycopg prepares a statement
# run five times, and PostgreSQL may then keep one generic plan for it. Planned while the outbox is nearly empty (as
# when the relay starts), the marks' generic plan was a sequential scan filtering `id = ANY(array)`, casting the array
# and searching it row by row; kept as the outbox grew to hundreds of thousands of rows in a burst, until the next
# ANALYZE of the table, each mark read the whole table (the relay's PostgreSQL 27-55 CPU seconds in a burst, with
# its marks falling behind, against about 4 µs a row for the index scan). Planning a mark costs well under 1 ms.
# A custom plan is still a sequential scan when the table's statistics say the outbox is empty: an ANALYZE
# (autovacuum's) that found it empty left reltuples 0, and every read of a relay keeping up with concurrent inserts
# then scanned the whole table and its dead rows and sorted them (about 3,000 pages a read, 17-20 µs of PostgreSQL a
# row relayed, in half the runs of bench/relay.py --insert-rate 6000), against a few pages through the primary key.
# The reads' and the marks' connections run nothing else, and the primary key is the way for both: sequential scans
# are off there.
RELAY_PLANS = "SELECT set_config('plan_cache_mode', 'force_custom_plan', false), " \
    "set_config('enable_seqscan', 'off', false)"
PUBLISH_ERRORS = Counter("kinerja_outbox_publish_errors_total", "Relay batches that failed (retried)", ["service"])


def unsent_after(outbox, after_id: int, limit: int):
    """The next `limit` outbox rows (every one unsent) after `after_id`, in outbox order: read through the primary
    key, so the read stops after its batch."""
    return (select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.payload)
            .where(outbox.c.id > bindparam("after_id", after_id)).order_by(outbox.c.id).limit(limit))


class RelayFailed(Exception):
    """The broker did not acknowledge a row in time, or refused it: the rows not yet marked are sent again."""


class Relay:
    """One service's outbox, sent through one producer, with up to `window` rows awaiting acknowledgement.

    `batch_size` rows are read per statement. Rows are read after the last one handed to the producer; once
    the relay has caught up (a read returns fewer than `batch_size` rows) it waits for every acknowledgement
    and starts the next round, so a row whose transaction committed after a later id had been read (ids are
    taken before commit) is sent on a later round, not skipped.

    Where a round starts: the ids are a sequence's, taken before commit, so an id missing below the highest one
    handed over belongs to a transaction still open (or one rolled back). The relay keeps those ids as gaps, and
    a round starts just below the lowest gap (after the highest id handed over when there is none): a row
    committed late in a gap is sent on the next round. Reading from the first id ever instead stepped, every
    round, over the index entries of every row deleted since the outbox was last vacuumed (2 ms a round after
    300,000 rows; a relay that keeps catching up with concurrent inserts starts dozens of rounds a second). A
    gap is kept `gap_s` (a transaction holding an id that long is rare, and a rolled-back one leaves its gap for
    ever), and every `rescan_s` a round starts from the first id ever: a row committed later than that is sent
    then, never skipped. After a failure (`reset`) the next round starts from the first id ever. On SQLite every
    round starts there: a deleted row's id is taken again (a rowid is the highest one plus one), and a delete
    leaves nothing in the index to step over.

    Reads go ahead of the sends (`_Reads`): on PostgreSQL the read of the next batch is sent before the current
    one is handed to the producer, and its rows are taken when they are needed, so PostgreSQL runs it while the
    producer works. Marks are written on a database thread of the relay's own, in the order asked, while the next
    rows are sent. Reading ahead of the marks is safe: a read only looks after the last row handed over, and the
    read from the start of a round waits until every mark is committed.
    """

    def __init__(self, sessions: sessionmaker[Session], producer, service: str, batch_size: int = 4000,
                 window: int = 20000, send_timeout_s: float = 30.0, gap_s: float = 5.0, rescan_s: float = 5.0):
        self.sessions = sessions
        self.producer = producer
        self.service = service
        self.batch_size = batch_size
        self.window = window
        self.send_timeout_s = send_timeout_s
        self.gap_s = gap_s
        self.rescan_s = rescan_s
        # rows handed over and not yet settled, in outbox order: [their ids, their acknowledgements (one per row,
        # shared by the rows of one batch), monotonic time handed over, index of the first not settled], a read each
        self.pending: deque[list] = deque()
        self.waiting = 0  # how many rows `pending` holds
        self.after_id = 0  # the last id handed to the producer in this round
        self.top = 0  # the highest id handed over since the start (or the last reset)
        self.gaps: list[list] = []  # [first, last, monotonic time seen] ids missing below `top`, in id order
        self.rescanned = time.monotonic()  # when a round last started from the first id (the first round does)
        on_postgresql = sessions.kw["bind"].dialect.name == "postgresql"
        self.resumes = on_postgresql  # rounds start below the lowest gap
        self.reads = _Reads(sessions, batch_size)
        self.marker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"relay-{service}-mark")
        outbox = sessions.kw["info"]["metadata"].tables["outbox"]
        self.mark_statement = delete(outbox).where(outbox.c.id == any_(array_parameter("ids", outbox.c.id.type))) \
            if on_postgresql else None  # PostgreSQL: the marks' statement, on `mark_connection` (the marks' thread)
        self.mark_connection = None
        self.marks: deque[Future] = deque()  # marks asked for and not yet known to be committed

    def _mark(self, ids: list[int]) -> int:
        """Delete the rows sent (on the relay's database thread). On PostgreSQL one statement, prepared once, on a
        connection the thread keeps: taking one from the pool for each mark (with its ping) and an ORM session cost
        0.7-1.9 ms of the relay's CPU a mark, against 0.3-0.7 ms, and a relay catching up with concurrent inserts
        marks a few hundred rows at a time."""
        if self.mark_statement is None:  # SQLite
            with unit_of_work(self.sessions) as session:
                outbox = session.info["metadata"].tables["outbox"]
                session.execute(delete(outbox).where(among(session, outbox.c.id, ids)))
        else:
            try:
                if self.mark_connection is None:
                    self.mark_connection = self.sessions.kw["bind"].connect()
                    self.mark_connection.exec_driver_sql(RELAY_PLANS)  # kept by the commit below
                self.mark_connection.execute(self.mark_statement, {"ids": ids})
                self.mark_connection.commit()
            except Exception:
                self._close_marks()  # the rows stay unsent; the next mark opens another connection
                raise
        RELAYED.labels(self.service).inc(len(ids))
        return len(ids)

    def _close_marks(self) -> None:
        connection, self.mark_connection = self.mark_connection, None
        if connection is not None:
            try:
                connection.invalidate()  # not back to the pool: it may be broken, and it plans as only the marks should
                connection.close()
            except Exception:  # noqa: BLE001 - a broken connection is closed all the same
                pass

    def send_more(self) -> int:
        """Hand the next unsent rows to the producer (without waiting for the broker); return how many."""
        if not self.reads.asked():
            self.reads.ask(self.after_id)
        rows = self.reads.take()
        if len(rows) == self.batch_size:  # probably more behind them: read on while these are sent
            self.reads.ask(rows[-1][0])
        if rows:
            now = time.monotonic()
            ids, topics, keys, payloads = zip(*rows)
            self.pending.append([ids, self.producer.send_all(topics, keys, payloads), now, 0])
            self.waiting += len(ids)
            self.after_id = ids[-1]
            self._seen(rows, now)
        return len(rows)

    def _seen(self, rows: list, now: float) -> None:
        """Account for the ids of rows handed over: a jump past `top` opens a gap (below the first row after the
        start or a reset too: nothing is known there), a row in a gap (committed late) closes its place in it."""
        gaps, top = self.gaps, self.top
        if rows[0][0] > top and rows[-1][0] - rows[0][0] == len(rows) - 1:  # the common case: new ids, no hole
            if rows[0][0] > top + 1:
                gaps.append([top + 1, rows[0][0] - 1, now])
            self.top = rows[-1][0]
            return
        for row in rows:
            row_id = row[0]
            if row_id > top:
                if row_id > top + 1:
                    gaps.append([top + 1, row_id - 1, now])
                top = row_id
                continue
            for n, (first, last, seen) in enumerate(gaps):
                if first <= row_id <= last:
                    gaps[n:n + 1] = [g for g in ([first, row_id - 1, seen], [row_id + 1, last, seen]) if g[0] <= g[1]]
                    break
        self.top = top

    def _next_round(self) -> None:
        """Where the next round starts: from the first id every `rescan_s`, else just below the lowest gap kept."""
        now = time.monotonic()
        self.gaps = [gap for gap in self.gaps if now - gap[2] < self.gap_s]
        if not self.resumes or now - self.rescanned >= self.rescan_s:
            self.rescanned = now
            self.after_id = 0
        else:
            self.after_id = self.gaps[0][0] - 1 if self.gaps else self.top

    def settle(self, wait: bool, keep: int = 0) -> int:
        """Mark sent the acknowledged prefix of the pending rows; with `wait`, wait until at most `keep` rows are
        pending, and with `keep` 0 (every row) also for the marks to be committed. Return how many rows are known
        marked since the last call. Raises RelayFailed if a pending row failed or waited too long."""
        acked, failure = [], None
        pending = self.pending
        while pending:
            handed_over = pending[0]
            ids, acks, handed, first = handed_over
            n, known, end = first, None, len(ids)  # `known`: the last acknowledgement seen good
            while n < end:
                ack = acks[n]
                if ack is known:
                    n += 1
                    continue
                if not ack.is_done:
                    if not wait or self.waiting - (n - first) <= keep:
                        break
                    left = self.send_timeout_s - (time.monotonic() - handed)
                    if left <= 0 or not _wait(ack, left):
                        failure = RelayFailed(f"outbox row {ids[n]} not acknowledged within {self.send_timeout_s:.0f}s")
                        break
                if ack.failed():
                    failure = RelayFailed(f"outbox row {ids[n]} refused: {ack.exception!r}")
                    break
                known = ack
                n += 1
            acked.extend(ids[first:n])
            self.waiting -= n - first
            if n < end:
                handed_over[3] = n
                break
            pending.popleft()
        if acked:  # the prefix before a failure is marked too
            self.marks.append(self.marker.submit(self._mark, acked))
        if failure is not None:
            raise failure
        marked = 0
        while self.marks and ((wait and not keep) or self.marks[0].done()):
            marked += self.marks.popleft().result()
        return marked

    def step(self) -> tuple[int, bool]:
        """One turn of the loop: send more while the window allows, mark what is acknowledged; when caught up,
        wait for every acknowledgement and start the next round. Returns (rows marked, caught up)."""
        read = self.send_more() if self.waiting < self.window else self.batch_size
        if read < self.batch_size:  # caught up: push what lingers, settle everything, start the next round
            if self.pending:
                self.producer.flush(timeout=self.send_timeout_s)
            marked = self.settle(wait=True)
            self._next_round()
            return marked, read == 0 and marked == 0
        # a full window waits only for its oldest batch: the producer keeps the rest in flight (waiting for all
        # of them emptied the pipeline every `window` rows)
        return self.settle(wait=self.waiting >= self.window, keep=self.window - self.batch_size), False

    def reset(self) -> None:
        """After a failure: forget what is pending (it stays unsent in the outbox and is sent again)."""
        for work in self.marks:
            try:
                work.result()
            except Exception:  # noqa: BLE001 - a failed mark leaves the rows unsent: sent again
                pass
        self.reads.close()  # a read asked ahead is dropped; the next round reads from the start
        self.marks.clear()
        try:
            self.producer.flush(timeout=self.send_timeout_s)
        except Exception:  # noqa: BLE001 - the broker may still be away; the rows are sent again anyway
            pass
        self.pending.clear()
        self.waiting = 0
        self.after_id = self.top = 0  # the rows not marked are below `top`: the next round reads from the first id
        self.gaps = []
        self.rescanned = time.monotonic()

    def close(self) -> None:
        """Finish the marks asked for, stop the database thread and close the reads' connection."""
        self.marker.shutdown(wait=True, cancel_futures=True)
        self._close_marks()  # not back to the pool: it plans as only the relay's marks should
        self.reads.close()


class _Reads:
    """The relay's reads of the next batch of unsent rows (`unsent_after`), asked ahead and taken when needed.

    On PostgreSQL a read is sent when asked, on a connection of its own in pipeline mode, and its rows are fetched
    when taken: PostgreSQL runs the statement and its rows travel while the relay hands the previous batch to the
    producer, and the sending thread takes them from the socket itself (a thread reading them had to win the
    interpreter lock back from the sending thread for every chunk of the result, up to 5 ms each time, and the
    sends waited on it). The connection is in autocommit: each read sees what is committed when it runs, and no
    transaction stays open between reads. On SQLite the read runs when taken."""

    def __init__(self, sessions: sessionmaker[Session], batch_size: int):
        self.sessions = sessions
        self.batch_size = batch_size
        self.engine = sessions.kw["bind"]
        self.connection = None  # PostgreSQL: the reads' own connection
        self.pipeline = None  # PostgreSQL: the pipeline the read asked runs in
        self.cursor = None  # PostgreSQL: the read asked and not yet taken
        self.after_id: int | None = None  # the read asked: rows after this id

    def asked(self) -> bool:
        return self.after_id is not None

    def _statement(self, after_id: int):
        return unsent_after(self.sessions.kw["info"]["metadata"].tables["outbox"], after_id, self.batch_size)

    @functools.cached_property
    def _compiled(self) -> tuple[str, dict]:
        """The read's SQL and parameters, compiled once (each read differs only in `after_id`)."""
        compiled = self._statement(0).compile(dialect=self.engine.dialect)
        return str(compiled), compiled.params

    def ask(self, after_id: int) -> None:
        """Ask for the batch after `after_id` (at most one read is asked at a time)."""
        self.after_id = after_id
        if self.engine.dialect.name != "postgresql":
            return
        if self.connection is None:
            self.connection = own_connection(self.engine, "relay-reads")
            self.connection.execute(RELAY_PLANS)
        sql, params = self._compiled
        self.pipeline = self.connection.pipeline()
        self.pipeline.__enter__()
        self.cursor = self.connection.cursor()
        self.cursor.execute(sql, dict(params, after_id=after_id))

    def take(self) -> list:
        """The rows of the read asked, as (id, topic, key, payload), in outbox order."""
        after_id, self.after_id = self.after_id, None
        if self.cursor is None:
            with self.sessions() as session:
                return session.execute(self._statement(after_id)).all()
        cursor, self.cursor = self.cursor, None
        try:
            rows = cursor.fetchall()
            self.pipeline.__exit__(None, None, None)
            return rows
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        """Drop the read asked, if any, and the connection."""
        self.after_id, self.cursor, self.pipeline = None, None, None
        if self.connection is not None:
            connection, self.connection = self.connection, None
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - a broken connection is closed all the same
                pass


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
