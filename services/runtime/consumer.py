"""The one consumer loop: validate, apply with an inbox in the same transaction, commit offsets after.

Each record is parsed against its contract; a record that cannot be parsed, or whose handler keeps
failing after `max_attempts`, goes to `<topic>.dlq` with the error, and the partition moves on.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from typing import Callable

from kafka.structs import OffsetAndMetadata, TopicPartition
from prometheus_client import Counter
from sqlalchemy.orm import Session, sessionmaker

from contracts.topics import dead_letter
from runtime.events import Event, InvalidEvent, parse_event
from runtime.messaging import already_processed, record_processed

log = logging.getLogger(__name__)
Handler = Callable[[Session, Event], None]
PROCESSED = Counter("kinerja_events_processed_total", "Events applied by a consumer", ["consumer", "type"])
DEAD_LETTERED = Counter("kinerja_events_dead_lettered_total", "Events sent to a dead-letter topic", ["consumer", "topic"])
DUPLICATES = Counter("kinerja_events_duplicate_total", "Redelivered events skipped by the inbox", ["consumer"])


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

    def apply(self, event: Event) -> bool:
        """Apply one event in one transaction with its inbox row; False if it was a duplicate."""
        handler = self.handlers.get(event.type)
        with self.sessions() as session, session.begin():
            if already_processed(session, self.name, event.event_id):
                DUPLICATES.labels(self.name).inc()
                return False
            if handler is not None:
                handler(session, event)
            record_processed(session, self.name, event)
        PROCESSED.labels(self.name, event.type).inc()
        return True

    def _dead_letter(self, record, error: str) -> None:
        headers = [("error", error[:2000].encode()), ("source_topic", record.topic.encode()),
                   ("source_partition", str(record.partition).encode()), ("source_offset", str(record.offset).encode()),
                   ("consumer", self.name.encode())]
        key = record.key.decode("utf-8", "replace") if record.key else "none"
        value = record.value if isinstance(record.value, bytes) else json.dumps(record.value).encode()
        self.producer.send(dead_letter(record.topic), key=key, value=value, headers=headers).get(timeout=30)
        DEAD_LETTERED.labels(self.name, record.topic).inc()
        log.error("event dead-lettered", extra={"topic": record.topic, "offset": record.offset, "error": error})

    def handle_record(self, record) -> None:
        """Process one Kafka record to completion: applied, skipped as a duplicate, or dead-lettered."""
        try:
            event = parse_event(record.value)
        except InvalidEvent as exc:
            self._dead_letter(record, f"invalid event: {exc}")
            return
        for attempt in range(1, self.max_attempts + 1):
            try:
                self.apply(event)
                return
            except Exception as exc:  # noqa: BLE001 - any handler failure is retried, then dead-lettered
                log.warning("handler failed", extra={"type": event.type, "attempt": attempt, "error": repr(exc)})
                if attempt == self.max_attempts:
                    self._dead_letter(record, f"handler failed {attempt} times: {exc!r}")
                    return
                time.sleep(self.retry_backoff_s * attempt)

    def poll_once(self, timeout_ms: int = 500) -> int:
        """Poll one batch, process it record by record, committing each partition's offset after its records."""
        batches = self.kafka.poll(timeout_ms=timeout_ms)
        count = 0
        for tp, records in batches.items():
            for record in records:
                self.handle_record(record)
                count += 1
            self.kafka.commit({TopicPartition(tp.topic, tp.partition): OffsetAndMetadata(records[-1].offset + 1, "", -1)})
        return count

    def run(self, stop: threading.Event) -> None:
        """Consume until `stop` is set."""
        while not stop.is_set():
            self.poll_once()
        self.kafka.close()
