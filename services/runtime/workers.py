"""The relay and consumer processes of a service (run outside gunicorn)."""
from __future__ import annotations

import logging
import signal
import threading

from datetime import UTC, datetime, timedelta

from kafka import ConsumerRebalanceListener
from kafka.structs import OffsetAndMetadata, TopicPartition
from sqlalchemy import func, select

from contracts.registry import topics_of
from contracts.topics import COMPACTED
from runtime.audit_chain import publish_heads, streams_of
from runtime.config import Settings
from runtime.consumer import EventConsumer
from runtime.db import make_engine, make_session_factory
from runtime.kafka import Backoff, broker_answers, ensure_topics, make_consumer, make_producer
from runtime.relay import run_relay
from runtime.service import service
from runtime.web import configure_logging

log = logging.getLogger(__name__)


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _await_broker(bootstrap: str, stop: threading.Event, name: str) -> bool:
    """Wait, with a growing pause, until the broker answers and the platform's topics exist (a process started
    during a broker outage waits for it rather than exiting); False if stopped first."""
    backoff = Backoff()
    while not stop.is_set():
        if broker_answers(bootstrap):
            try:
                ensure_topics(bootstrap)
                return True
            except Exception as exc:  # noqa: BLE001 - the broker went away again; keep waiting
                log.warning("could not ensure topics", extra={"worker": name, "error": repr(exc)})
        pause = backoff.failed()
        log.warning("broker not answering; waiting", extra={"worker": name, "bootstrap": bootstrap,
                                                             "retry_in_s": pause})
        stop.wait(pause)
    return False


class RebuildWhenEmpty(ConsumerRebalanceListener):
    """On the first assignment of a service whose database has applied nothing yet, read the compacted
    reference topics from the beginning, whatever offsets its group committed before: a service that
    starts empty rebuilds its projections."""

    def __init__(self, kafka_consumer, empty: bool):
        self.kafka_consumer = kafka_consumer
        self.empty = empty

    def on_partitions_assigned(self, assigned):
        compacted = [tp for tp in assigned if tp.topic in COMPACTED]
        if self.empty and compacted:
            log.info("empty database: rebuilding projections from the compacted topics")
            self.kafka_consumer.seek_to_beginning(*compacted)
        self.empty = False

    def on_partitions_revoked(self, revoked):
        pass


def build_consumer(name: str, settings: Settings, group_suffix: str = "") -> EventConsumer | None:
    """The consumer of service `name`, subscribed to the topics of the event types it handles."""
    spec = service(name)
    handlers = spec.consumer_handlers(settings)
    if not handlers:
        return None
    topics = consumed_topics(name, settings)
    sessions = make_session_factory(make_engine(settings.database_url), spec.metadata)
    with sessions() as session:
        inbox = spec.metadata.tables["inbox"]
        empty = session.execute(select(func.count()).select_from(inbox)).scalar() == 0
    kafka_consumer = make_consumer(settings.kafka_bootstrap_servers, f"{settings.consumer_group}{group_suffix}",
                                   f"{name}-consumer")
    kafka_consumer.subscribe(topics, listener=RebuildWhenEmpty(kafka_consumer, empty))
    return EventConsumer(name, kafka_consumer, make_producer(settings.kafka_bootstrap_servers, f"{name}-dlq"),
                         sessions, handlers, settings.consumer_max_attempts)


def rebuild_projections(name: str, settings: Settings) -> int:
    """Re-apply every event on the compacted topics a service consumes (the inbox skips those already applied)."""
    from runtime.projection import replay
    consumer = build_consumer(name, settings)
    if consumer is None:
        return 0
    topics = sorted(set(topics_of(consumer.handlers)) & COMPACTED)
    consumer.kafka.close()
    return replay(settings.kafka_bootstrap_servers, topics, consumer.apply, client_id=f"{name}-rebuild")


def consumed_topics(name: str, settings: Settings) -> list[str]:
    """The topics of the event types service `name` consumes."""
    return topics_of(service(name).consumer_handlers(settings))


def catch_up_point(name: str, settings: Settings, margin: timedelta) -> datetime | None:
    """Where a restored database must read Kafka again from: `margin` before the last event its inbox applied
    (None when it applied nothing: then the whole retained history). The margin must exceed the consumer's
    lag when the backup was taken; re-reading more costs only time, the inbox skips what was applied."""
    sessions = make_session_factory(make_engine(settings.database_url), service(name).metadata)
    with sessions() as session:
        inbox = service(name).metadata.tables["inbox"]
        last = session.execute(select(func.max(inbox.c.processed_at))).scalar()
    if last is None:
        return None
    return (last if last.tzinfo else last.replace(tzinfo=UTC)) - margin


def rewind_consumer(name: str, settings: Settings, since: datetime | None, group_suffix: str = "") -> dict:
    """Set the committed offsets of service `name`'s consumer group, on every topic it consumes, to the first
    record at or after `since` (the beginning when None; the end where nothing is that recent). Run with the
    service's consumer stopped: the broker refuses offsets for a group with live members. Returns
    {"topic:partition": offset}."""
    kafka = make_consumer(settings.kafka_bootstrap_servers, f"{settings.consumer_group}{group_suffix}", f"{name}-rewind")
    try:
        partitions = [TopicPartition(topic, p) for topic in consumed_topics(name, settings)
                      for p in sorted(kafka.partitions_for_topic(topic) or ())]
        ends = kafka.end_offsets(partitions)
        if since is None:
            offsets = kafka.beginning_offsets(partitions)
        else:
            found = kafka.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in partitions})
            offsets = {tp: found[tp].offset if found.get(tp) is not None else ends[tp] for tp in partitions}
        kafka.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in offsets.items()})
        return {f"{tp.topic}:{tp.partition}": offset for tp, offset in sorted(offsets.items())}
    finally:
        kafka.close()


def run_consumer(name: str) -> None:
    """Run the consumer of service `name` until SIGTERM."""
    settings = Settings.from_env(name)
    configure_logging(name)
    stop = _stop_on_signals()
    if not _await_broker(settings.kafka_bootstrap_servers, stop, f"{name}-consumer"):
        return
    consumer = build_consumer(name, settings)
    if consumer is None:
        log.info("service consumes no events; idle")
        stop.wait()
        return
    consumer.run(stop)


def run_relay_process(name: str) -> None:
    """Run the outbox relay of service `name` until SIGTERM."""
    settings = Settings.from_env(name)
    configure_logging(name)
    stop = _stop_on_signals()
    if not _await_broker(settings.kafka_bootstrap_servers, stop, f"{name}-relay"):
        return
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine, service(name).metadata)
    producer = make_producer(settings.kafka_bootstrap_servers, f"{name}-relay")
    signer = None
    if streams_of(name):
        signer = threading.Thread(target=sign_audit_heads, args=(name, settings, sessions, stop),
                                  name=f"{name}-audit-heads", daemon=True)
        signer.start()
    try:
        run_relay(sessions, producer, name, stop)
    finally:
        producer.close()
        if signer:
            signer.join(timeout=10)


def sign_audit_heads(name: str, settings: Settings, sessions, stop: threading.Event) -> None:
    """Beside the relay that sends them: every `AUDIT_HEAD_INTERVAL_SECONDS`, sign the head of each of the
    service's audit streams that moved and put it on the outbox (runtime.audit_chain)."""
    published: dict = {}
    while not stop.is_set():
        try:
            for head in publish_heads(sessions, name, settings, published):
                log.info("audit head signed", extra={"stream": head["stream"], "seq": head["seq"]})
        except Exception as exc:  # noqa: BLE001 - the database or the key store is away; the next round retries
            log.warning("could not sign the audit heads", extra={"worker": f"{name}-audit-heads", "error": repr(exc)})
        stop.wait(settings.audit_head_interval_seconds)


def run_jobs(name: str) -> None:
    """Run the background jobs of service `name` (its `jobs.run(settings, stop)`) until SIGTERM."""
    settings = Settings.from_env(name)
    configure_logging(name)
    stop = _stop_on_signals()
    service(name).module("jobs").run(settings, stop)
