"""The whole platform in one process: every service's app on its own PostgreSQL database, with its relay,
consumer and background jobs running in threads against the real Kafka broker."""
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Column, String, Table, select

from runtime.db import make_engine, make_session_factory
from runtime.kafka import make_producer
from runtime.relay import run_relay
from runtime.service import SERVICES, has_jobs, service
from runtime.workers import build_consumer
from scenarios.clients import FlaskApi
from tests.conftest import messaging_database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def platform(new_database, make_app, kafka_bootstrap, tmp_path):
    """Factory: start every service with `policy` (a preset's name in deploy/policies, or a policy file's path);
    returns {name: FlaskApi}."""
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start(policy: str | Path = "national") -> dict:
        apis = {}
        policy_file = policy if isinstance(policy, Path) else ROOT / "deploy" / "policies" / f"{policy}.toml"
        for name in SERVICES:
            url = new_database(name)
            settings_extra = dict(policy_file=str(policy_file),
                                  data_dir=str(tmp_path / name))
            app = make_app(name, url, kafka_bootstrap, **settings_extra)
            apis[name] = FlaskApi(name, app)
            settings = app.config["SETTINGS"]
            sessions = make_session_factory(make_engine(url), service(name).metadata)
            producer = make_producer(kafka_bootstrap, f"{name}-relay-test")
            threads.append(threading.Thread(target=run_relay, args=(sessions, producer, name, stop), daemon=True))
            consumer = build_consumer(name, settings)
            if consumer is not None:
                threads.append(threading.Thread(target=consumer.run, args=(stop,), daemon=True))
            if has_jobs(name):
                threads.append(threading.Thread(target=service(name).module("jobs").run, args=(settings, stop),
                                                daemon=True))
        for thread in threads:
            thread.start()
        return apis

    yield start
    stop.set()
    for thread in threads:
        thread.join(timeout=30)


@pytest.fixture
def consumer_db(pg_server_url):
    """Sessions on a fresh database with one table, `applied` (event_id, name), and the outbox and inbox."""
    with messaging_database(pg_server_url, "consumer", lambda metadata: Table(
            "applied", metadata, Column("event_id", String(36), primary_key=True), Column("name", String(100)))) as made:
        yield made


def applied(sessions) -> list[str]:
    """The names in a `consumer_db`'s `applied` table."""
    with sessions() as s:
        return [r.name for r in s.execute(select(s.info["metadata"].tables["applied"].c.name))]


def drain(consumer, until, timeout_s=60):
    """Poll `consumer` until `until()` holds (or fail after `timeout_s`)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not until():
        consumer.poll_once(timeout_ms=300)
    assert until(), "consumer did not reach the expected state"
