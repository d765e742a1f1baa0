"""The relay and consumer processes of a service (run outside gunicorn)."""
from __future__ import annotations

import logging
import signal
import threading

from contracts.registry import EVENTS
from runtime.config import Settings
from runtime.consumer import EventConsumer
from runtime.db import make_engine, make_session_factory
from runtime.kafka import ensure_topics, make_consumer, make_producer
from runtime.relay import run_relay
from runtime.service import service
from runtime.web import configure_logging

log = logging.getLogger(__name__)


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def build_consumer(name: str, settings: Settings, group_suffix: str = "") -> EventConsumer | None:
    """The consumer of service `name`, subscribed to the topics of the event types it handles."""
    spec = service(name)
    handlers = spec.consumer_handlers(settings)
    if not handlers:
        return None
    topics = sorted({EVENTS[t][0] for t in handlers})
    engine = make_engine(settings.database_url)
    kafka_consumer = make_consumer(settings.kafka_bootstrap_servers, f"{name}{group_suffix}", f"{name}-consumer")
    kafka_consumer.subscribe(topics)
    return EventConsumer(name, kafka_consumer, make_producer(settings.kafka_bootstrap_servers, f"{name}-dlq"),
                         make_session_factory(engine, spec.metadata), handlers, settings.consumer_max_attempts)


def run_consumer(name: str) -> None:
    """Run the consumer of service `name` until SIGTERM."""
    settings = Settings.from_env(name)
    configure_logging(name)
    ensure_topics(settings.kafka_bootstrap_servers)
    consumer = build_consumer(name, settings)
    stop = _stop_on_signals()
    if consumer is None:
        log.info("service consumes no events; idle")
        stop.wait()
        return
    consumer.run(stop)


def run_relay_process(name: str) -> None:
    """Run the outbox relay of service `name` until SIGTERM."""
    settings = Settings.from_env(name)
    configure_logging(name)
    ensure_topics(settings.kafka_bootstrap_servers)
    engine = make_engine(settings.database_url)
    producer = make_producer(settings.kafka_bootstrap_servers, f"{name}-relay")
    try:
        run_relay(make_session_factory(engine, service(name).metadata), producer, name, _stop_on_signals())
    finally:
        producer.close()
