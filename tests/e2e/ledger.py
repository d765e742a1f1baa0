"""A ledger for reliability tests: events published through a real outbox on PostgreSQL, sent by the real relay
and applied by the real consumer into an `applied` table keyed by event id, so that "nothing lost" is
`applied == published` and "nothing applied twice" is the primary key plus an empty dead-letter topic."""
from __future__ import annotations

import threading
import time
import uuid

from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import (BigInteger, Column, Identity, MetaData, String, Table, create_engine, func, insert, select,
                        text)
from sqlalchemy.engine import make_url

from contracts.topics import PAYROLL_RUNS, dead_letter
from runtime.consumer import EventConsumer
from runtime.db import make_session_factory
from runtime.events import make_event
from runtime.kafka import make_consumer, make_producer
from runtime.messaging import add_messaging_tables, publish
from runtime.relay import run_relay

TOPIC = PAYROLL_RUNS  # a topic no service consumes, so the ledger's load costs the other tests nothing


class Ledger:
    """Its own PostgreSQL database, its own consumer group, its own key (`marker`) on the shared topic."""

    def __init__(self, pg_server_url: str):
        self.marker = uuid.uuid4().hex[:10]
        self.server_url = pg_server_url
        self.database = f"t_ledger_{self.marker}"
        self.admin = create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.database}"'))
        self.metadata = MetaData()
        Table("applied", self.metadata, Column("event_id", String(36), primary_key=True), Column("run_id", String(64)),
              Column("applied_order", BigInteger, Identity()))
        add_messaging_tables(self.metadata)
        self.url = make_url(pg_server_url).set(database=self.database).render_as_string(hide_password=False)
        self.engine = create_engine(self.url, pool_size=10)
        self.metadata.create_all(self.engine)
        self.sessions = make_session_factory(self.engine, self.metadata)
        self.published: set[str] = set()
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.consumers: list[EventConsumer] = []

    @property
    def group(self) -> str:
        return f"ledger-{self.marker}"

    def publish(self, count: int) -> None:
        """Publish `count` events in one transaction through the outbox."""
        events = [make_event("payroll.run.drafted", self.marker, {
            "run_id": f"{self.marker}-{len(self.published) + i}", "organisation": "test", "year": 2026, "month": 1,
            "state": "draft", "employees": 0, "gross_total": 0, "net_total": 0, "content_hash": self.marker}, "test")
            for i in range(count)]
        with self.sessions() as session, session.begin():
            publish(session, *events)
        self.published.update(e.event_id for e in events)

    def publish_in_background(self, batches: int, per_batch: int, pause_s: float) -> threading.Thread:
        """A writer that keeps publishing while the test breaks things (it outlives broker outages: the
        outbox is in the database)."""
        def write():
            for _ in range(batches):
                if self.stop.is_set():
                    return
                self.publish(per_batch)
                time.sleep(pause_s)
        thread = threading.Thread(target=write, daemon=True)
        thread.start()
        self.threads.append(thread)
        return thread

    def _apply(self, session, event) -> None:
        if event.key == self.marker:
            session.execute(insert(self.metadata.tables["applied"]).values(event_id=event.event_id,
                                                                          run_id=event.data["run_id"]))

    def run_relay(self, bootstrap: str) -> None:
        """The real relay loop, in a thread."""
        producer = make_producer(bootstrap, f"{self.group}-relay")
        self._thread(run_relay, self.sessions, producer, self.group, self.stop)

    def run_consumer(self, bootstrap: str) -> None:
        """The real consumer loop, in a thread (call again for another member of the group)."""
        kafka = make_consumer(bootstrap, self.group, f"{self.group}-consumer")
        kafka.subscribe([TOPIC])
        consumer = EventConsumer(self.group, kafka, make_producer(bootstrap, f"{self.group}-dlq"), self.sessions,
                                 {"payroll.run.drafted": self._apply}, max_attempts=3, retry_backoff_s=0.05)
        self.consumers.append(consumer)
        self._thread(consumer.run, self.stop)

    def _thread(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self.threads.append(thread)

    def applied(self) -> int:
        with self.sessions() as session:
            return session.execute(select(func.count()).select_from(self.metadata.tables["applied"])).scalar()

    def applied_ids(self) -> set[str]:
        with self.sessions() as session:
            return set(session.execute(select(self.metadata.tables["applied"].c.event_id)).scalars())

    def published_order_kept(self) -> bool:
        """Whether the events were applied in the order they were published (all share one key, so one
        partition: a relay that let a later event through before an earlier one would break this)."""
        applied = self.metadata.tables["applied"]
        with self.sessions() as session:
            run_ids = session.execute(select(applied.c.run_id).order_by(applied.c.applied_order)).scalars().all()
        numbers = [int(run_id.rsplit("-", 1)[1]) for run_id in run_ids]
        return numbers == sorted(numbers)

    def wait_applied(self, timeout_s: float) -> None:
        """Wait until every published event is applied (the writer must be done)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.applied() < len(self.published):
            time.sleep(0.5)
        assert self.applied_ids() == self.published, \
            f"{len(self.published - self.applied_ids())} of {len(self.published)} published events never applied"

    def dead_letters(self, bootstrap: str) -> int:
        """How many of this ledger's records its consumer dead-lettered."""
        reader = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=3000)
        try:
            partitions = [TopicPartition(dead_letter(TOPIC), p)
                          for p in (reader.partitions_for_topic(dead_letter(TOPIC)) or ())]
            reader.assign(partitions)
            reader.seek_to_beginning(*partitions)
            return sum(1 for record in reader if dict(record.headers).get("consumer") == self.group.encode())
        finally:
            reader.close()

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)
        self.engine.dispose()
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
        self.admin.dispose()
