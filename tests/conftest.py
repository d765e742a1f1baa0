"""Shared fixtures: a real PostgreSQL database per test, a real Kafka broker per session, apps and tokens."""
from __future__ import annotations

import os
import shutil
import socket
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from runtime.config import Settings
from tests.tokens import LocalIssuer, bearer_token


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """The PostgreSQL server the tests use (TEST_DATABASE_URL); CI must have one."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("TEST_DATABASE_URL is not set: run the tests through deploy/test.sh")
        pytest.skip("no PostgreSQL: set TEST_DATABASE_URL or run deploy/test.sh")
    return url


@contextmanager
def migrated_databases(pg_server_url: str):
    """Factory: fresh PostgreSQL databases migrated for a service, all dropped when the block ends."""
    from runtime.migrate import upgrade
    created = []

    def make(service: str) -> str:
        name = f"t_{service}_{uuid.uuid4().hex[:10]}"
        url = make_url(pg_server_url).set(database=name).render_as_string(hide_password=False)
        upgrade(service, url)
        created.append(name)
        return url

    try:
        yield make
    finally:
        admin = create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def messaging_database(pg_server_url: str, prefix: str, *tables):
    """Sessions on a fresh PostgreSQL database holding `tables` (made with `tables(metadata)` each) and the outbox
    and inbox, dropped when the block ends: for the runtime's messaging tests, which need no service's schema."""
    from sqlalchemy import MetaData
    from runtime.db import make_session_factory
    from runtime.messaging import add_messaging_tables
    name = f"t_{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    metadata = MetaData()
    for table in tables:
        table(metadata)
    add_messaging_tables(metadata)
    engine = create_engine(make_url(pg_server_url).set(database=name))
    try:
        metadata.create_all(engine)
        yield make_session_factory(engine, metadata)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def new_database(pg_server_url):
    """Factory: a fresh PostgreSQL database migrated for a service; dropped after the test."""
    with migrated_databases(pg_server_url) as make:
        yield make


@contextmanager
def service_clients(pg_server_url: str, services, **extra):
    """Test clients of `services` on fresh migrated databases, for a module's worth of tests."""
    import importlib
    with migrated_databases(pg_server_url) as new:
        apps = {service: importlib.import_module(f"{service}.app").create_app(
            make_settings(service, new(service), **extra.get(service, {}))) for service in services}
        try:
            yield {service: app.test_client() for service, app in apps.items()}
        finally:
            for app in apps.values():
                app.extensions["kinerja"].engine.dispose()


@pytest.fixture(scope="session")
def kafka_bootstrap():
    """A real Apache Kafka broker: KAFKA_BOOTSTRAP_SERVERS if set, else one started for this session."""
    from runtime.kafka import ensure_topics
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        ensure_topics(os.environ["KAFKA_BOOTSTRAP_SERVERS"])
        yield os.environ["KAFKA_BOOTSTRAP_SERVERS"]
        return
    from runtime.broker import Broker
    home = Path(tempfile.mkdtemp(prefix="kinerja-test-kafka-"))
    broker = Broker(home=home, port=_free_port(), controller_port=_free_port()).start()
    ensure_topics(broker.bootstrap)
    yield broker.bootstrap
    broker.stop()
    broker.wipe()


@pytest.fixture(scope="session")
def keycloak(tmp_path_factory):
    """A real Keycloak with the realm of deploy/keycloak/ imported, started once per session (1-2 minutes)."""
    from tests.keycloak import Keycloak, installed
    found = installed()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("Keycloak or a Java 21+ is missing: deploy/keycloak/fetch.sh provides them")
        pytest.skip("no Keycloak or no Java 21+: run deploy/keycloak/fetch.sh")
    server = Keycloak(*found, _free_port(), _free_port(), tmp_path_factory.mktemp("keycloak"))
    try:
        yield server.start()
    finally:
        server.stop()


def make_settings(service: str, database_url: str, kafka: str = "127.0.0.1:1", **extra) -> Settings:
    """Settings for a service under test (trusting the tests' issuer)."""
    base = Settings.from_env(service, {})
    return Settings(**{**base.__dict__, **LocalIssuer.default().settings(), "database_url": database_url,
                       "kafka_bootstrap_servers": kafka, **extra})


@pytest.fixture
def make_app():
    """Factory: a service's Flask app on `database_url` (and `kafka`, unreachable by default)."""
    import importlib

    def make(service: str, database_url: str, kafka: str = "127.0.0.1:1", **extra):
        return importlib.import_module(f"{service}.app").create_app(make_settings(service, database_url, kafka, **extra))
    return make


def random_nip(gender: str = "1") -> str:
    """A valid, random NIP: birth 1965-1995, appointed at 25, sequence 001-999."""
    import random
    from datetime import date, timedelta
    birth = date(1965, 1, 1) + timedelta(days=random.randrange(30 * 365))
    return f"{birth:%Y%m%d}{birth.year + 25}{birth.month:02d}{gender}{random.randrange(1, 1000):03d}"


@pytest.fixture
def new_nip():
    """Factory: a fresh valid NIP, so tests sharing a broker never collide."""
    return random_nip


@pytest.fixture
def token():
    """Factory: a bearer header for `subject` with `roles`."""
    def make(subject: str, *roles: str) -> dict:
        return {"Authorization": "Bearer " + bearer_token(subject, roles or ("staff",))}
    return make


def pytest_sessionfinish(session, exitstatus):
    """Silence kafka-python once the tests are over: daemon client threads may still log as the
    interpreter exits, after pytest's summary, which must stay the last word of a run."""
    import logging
    logging.getLogger("kafka").setLevel(logging.CRITICAL + 1)
    if LocalIssuer._default is not None:
        shutil.rmtree(LocalIssuer._default.directory, ignore_errors=True)
