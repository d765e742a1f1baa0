"""The whole platform in one process: every service's app on its own PostgreSQL database, with its relay,
consumer and background jobs running in threads against the real Kafka broker."""
import threading
from pathlib import Path

import pytest

from runtime.db import make_engine, make_session_factory
from runtime.kafka import make_producer
from runtime.relay import run_relay
from runtime.service import SERVICES, has_jobs, service
from runtime.workers import build_consumer
from scenarios.clients import FlaskApi

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
