"""The one consumer loop: validate, apply with an inbox in the same transaction, commit offsets after.

Each record is parsed against its contract; a record that cannot be parsed, or whose handler keeps
failing after `max_attempts`, goes to `<topic>.dlq` with the error, and the partition moves on.
A poll's events are applied together in one transaction (their inbox rows included); if that fails,
they are applied again one by one, each in its own transaction with its retries, so one poison event
is dead-lettered alone and the others are kept. Offsets are committed only after the database commit.

A broker outage never ends the loop: a poll, a dead letter or an offset commit that fails is retried with
a growing pause (`Backoff`) until the broker answers again. Records whose handling did not finish are
polled again (the consumer seeks back to them); those already applied are skipped by the inbox, so the
outage loses nothing and applies nothing twice.
"""
from __future__ import annotations

import gc
import json
import logging
import threading
import time
from typing import Callable

from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition
from prometheus_client import Counter, Histogram
from sqlalchemy.orm import Session, sessionmaker

from contracts.topics import dead_letter
from runtime.events import Event, InvalidEvent, parse_event
from runtime.kafka import Backoff
from runtime.messaging import claim
from runtime.uow import unit_of_work

log = logging.getLogger(__name__)
Handler = Callable[[Session, Event], None]
PROCESSED = Counter("kinerja_events_processed_total", "Events applied by a consumer", ["consumer", "type"])
DEAD_LETTERED = Counter("kinerja_events_dead_lettered_total", "Events sent to a dead-letter topic", ["consumer", "topic"])
DUPLICATES = Counter("kinerja_events_duplicate_total", "Redelivered events skipped by the inbox", ["consumer"])
AGE_AT_APPLY = Histogram("kinerja_event_age_at_apply_seconds", "Time from an event's occurrence to its application",
                         ["consumer"], buckets=(0.1, 0.5, 1, 2.5, 5, 15, 60, 300, 900, 3600, 21600, 86400))


# Growth of the live containers (allocations less deallocations) that starts a young collection (CPython's default:
# 700): more than a poll of `MAX_POLL_RECORDS` events keeps alive until it is applied (`collect_for_polls`; scoring's
# day events: 32 to 42 containers an event, 130,000 to 170,000 in a poll of 4,000).
GC_YOUNG_THRESHOLD = 300_000


def collect_for_polls() -> None:
    """Tune the garbage collector of a process that applies polls of events (`EventConsumer.run`).

    A poll allocates some hundred thousand short-lived dicts and tuples. At CPython's defaults the collector
    runs every 700 of them and, every hundred runs, walks everything alive, the process's modules included:
    a fifth of the attendance consumer's time went there. The objects alive at start (modules, schemas,
    metadata) are moved out of the collector's sight (`gc.freeze`: they live as long as the process), and a
    young collection waits until the live containers have grown by `GC_YOUNG_THRESHOLD`, more than a poll
    holds: a poll's objects are alive until it is applied, so a collection during the poll walks them all and
    frees none (at 20,000, a poll of 2,000 scoring day events, about 65,000 containers, was walked about twice:
    a ninth of that consumer's CPU), and once it is applied their reference counts free them. Reference cycles
    are still collected, only less often.
    """
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


class ManyHandler:
    """A handler that applies a run of consecutive events of its type at once (`many(session, events)`), e.g.
    with one set-based statement; called with one event, it applies a run of one."""

    def __init__(self, many: Callable[[Session, list[Event]], None]):
        self.many = many

    def __call__(self, session: Session, event: Event) -> None:
        """Apply one event."""
        self.many(session, [event])


def _runs(events: list[Event]):
    """Consecutive events of the same type, in order."""
    run: list[Event] = []
    for event in events:
        if run and run[-1].type != event.type:
            yield run
            run = []
        run.append(event)
    if run:
        yield run


class EventConsumer:
    """Consumes `topics` as group `name`, applying `handlers[event.type]` exactly once per event id."""

    def __init__(self, name: str, kafka_consumer, producer, sessions: sessionmaker[Session],
                 handlers: dict[str, Handler], max_attempts: int = 5, retry_backoff_s: float = 0.2):
        self.name = name
        self.kafka = kafka_consumer
        self.producer = producer
        self.sessions = sessions
        self.handlers = handlers
        self.max_attempts = max_attempts
        self.retry_backoff_s = retry_backoff_s
        self._assigned: set[TopicPartition] = set()  # the partitions assigned at the last poll
        self._unsure: set[TopicPartition] = set()  # those whose next poll may hold events applied before

    def apply(self, event: Event, redelivery_possible: bool = False) -> bool:
        """Apply one event in one transaction with its inbox row; False if it was a duplicate."""
        return self.apply_batch([event], redelivery_possible) == 1

    def _dead_letter(self, record, error: str) -> None:
        headers = [("error", error[:2000].encode()), ("source_topic", record.topic.encode()),
                   ("source_partition", str(record.partition).encode()), ("source_offset", str(record.offset).encode()),
                   ("consumer", self.name.encode())]
        key = record.key.decode("utf-8", "replace") if record.key else "none"
        value = record.value if isinstance(record.value, bytes) else json.dumps(record.value).encode()
        self.producer.send(dead_letter(record.topic), key=key, value=value, headers=headers).get(timeout=30)
        DEAD_LETTERED.labels(self.name, record.topic).inc()
        log.error("event dead-lettered", extra={"topic": record.topic, "offset": record.offset, "error": error})

    def apply_batch(self, events: list[Event], redelivery_possible: bool = False) -> int:
        """Apply `events` in order in one transaction with their inbox rows; duplicates (already in the inbox,
        or repeated within the batch) are skipped, and a `ManyHandler` gets each run of its type at once.
        Returns how many were applied; raises if any handler fails, and then nothing of the batch is kept.
        `redelivery_possible`: the batch may hold events applied before (`runtime.messaging.claim`)."""
        if not events:
            return 0
        with unit_of_work(self.sessions) as session:
            applied = claim(session, self.name, events, redelivery_possible=redelivery_possible)
            for run in _runs(applied):
                handler = self.handlers.get(run[0].type)
                if isinstance(handler, ManyHandler):
                    handler.many(session, run)
                elif handler is not None:
                    for event in run:
                        handler(session, event)
        duplicates = len(events) - len(applied)
        if duplicates:
            DUPLICATES.labels(self.name).inc(duplicates)
        now = time.time()
        age = AGE_AT_APPLY.labels(self.name)
        for run in _runs(applied):
            PROCESSED.labels(self.name, run[0].type).inc(len(run))
        for event in applied:
            age.observe(max(0.0, now - event.occurred_at.timestamp()))
        return len(applied)

    def handle_records(self, records: list, redelivery_possible: bool = False) -> int:
        """Process records to completion: parsed (the invalid dead-lettered), then applied in one transaction; if
        that fails, each is handled alone with its retries, so only the events that keep failing are
        dead-lettered. Returns how many were skipped as applied before."""
        parsed = []
        for record in records:
            try:
                parsed.append((record, parse_event(record.value)))
            except InvalidEvent as exc:
                self._dead_letter(record, f"invalid event: {exc}")
        if len(parsed) > 1:
            try:
                return len(parsed) - self.apply_batch([event for _, event in parsed], redelivery_possible)
            except Exception as exc:  # noqa: BLE001 - the batch is redone event by event, with retries
                log.warning("batch failed; applying its events one by one",
                            extra={"events": len(parsed), "error": repr(exc)})
        return sum(not self._handle_event(record, event, redelivery_possible) for record, event in parsed)

    def _handle_event(self, record, event: Event, redelivery_possible: bool) -> bool:
        """Apply one event with its retries, dead-lettered if it keeps failing; False if it was applied before."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                return self.apply(event, redelivery_possible)
            except Exception as exc:  # noqa: BLE001 - any handler failure is retried, then dead-lettered
                log.warning("handler failed", extra={"type": event.type, "attempt": attempt, "error": repr(exc)})
                if attempt == self.max_attempts:
                    self._dead_letter(record, f"handler failed {attempt} times: {exc!r}")
                    return True
                time.sleep(self.retry_backoff_s * attempt)

    def poll_once(self, timeout_ms: int = 500) -> int:
        """Poll one batch, apply it in one transaction (or event by event if that fails), then commit offsets.

        If handling fails (a dead letter the broker did not take, a database that is down), the consumer seeks
        back to the batch's first records, so they are polled again, and raises. If only the offset commit
        fails, the batch is applied and kept: a later commit covers it, or its redelivery is skipped by the inbox.
        """
        batches = self.kafka.poll(timeout_ms=timeout_ms)
        records = [record for tp_records in batches.values() for record in tp_records]
        if not records:
            return 0
        polled = {TopicPartition(tp.topic, tp.partition) for tp, tp_records in batches.items() if tp_records}
        redelivery_possible = self._may_hold_redeliveries(polled)
        try:
            skipped = self.handle_records(records, redelivery_possible)
        except Exception:
            self._rewind(batches)
            raise
        if redelivery_possible and not skipped:
            self._unsure -= polled  # they have reached events nobody applied: what follows is new too
        try:
            self.kafka.commit({TopicPartition(tp.topic, tp.partition): OffsetAndMetadata(tp_records[-1].offset + 1, "", -1)
                               for tp, tp_records in batches.items() if tp_records})
        except KafkaError as exc:
            log.warning("offset commit failed; the next commit covers these records",
                        extra={"consumer": self.name, "error": repr(exc)})
        return len(records)

    def _may_hold_redeliveries(self, polled: set[TopicPartition]) -> bool:
        """Whether a poll from these partitions may hold events applied before: the partitions newly assigned
        (after a start, a restart or a rebalance, the committed offset may lag what was applied) and those rewound
        stay unsure until a poll of theirs skips nothing. A claim told so skips the applied events without a refused
        insert (`runtime.messaging.claim`); an all-new poll takes the cheaper way."""
        assigned = set(self.kafka.assignment())
        self._unsure = (self._unsure & assigned) | (assigned - self._assigned)
        self._assigned = assigned
        return bool(polled & self._unsure)

    def _rewind(self, batches) -> None:
        """Seek back to the first record of each polled partition still assigned to this consumer (one that a
        rebalance took away is read again by its new owner from the last committed offset)."""
        assigned = self.kafka.assignment()
        for tp, tp_records in batches.items():
            partition = TopicPartition(tp.topic, tp.partition)
            if tp_records and partition in assigned:
                self._unsure.add(partition)
                self.kafka.seek(partition, tp_records[0].offset)

    def run(self, stop: threading.Event, backoff: Backoff | None = None) -> None:
        """Consume until `stop` is set, riding out broker and database outages with a growing pause."""
        backoff = backoff or Backoff()
        collect_for_polls()
        while not stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # noqa: BLE001 - the loop must outlive any outage; the batch is polled again
                pause = backoff.failed()
                log.warning("consumer poll failed; retrying", extra={"consumer": self.name, "error": repr(exc),
                                                                     "retry_in_s": pause})
                stop.wait(pause)
            else:
                backoff.reset()
        self.kafka.close()
