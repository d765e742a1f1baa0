"""The pool pings a connection only after it has been idle a while, and replaces one the server ended."""
import pytest
from sqlalchemy import text

from runtime import db
from runtime.db import make_engine


@pytest.fixture
def engine(pg_server_url):
    engine = make_engine(pg_server_url)
    yield engine
    engine.dispose()


@pytest.fixture
def pings(engine, monkeypatch):
    calls = []
    ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda connection: calls.append(1) or ping(connection))
    return calls


def _backend(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar()


def test_a_connection_handed_back_a_moment_ago_is_not_pinged_one_idle_longer_is(engine, pings, monkeypatch):
    first = _backend(engine)
    assert _backend(engine) == first and pings == []  # a new connection, then the same one a moment later
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)
    assert _backend(engine) == first and pings == [1]


def test_an_idle_connection_the_server_ended_is_replaced_at_checkout(engine, pings, monkeypatch):
    gone = _backend(engine)
    with make_engine(str(engine.url.render_as_string(hide_password=False))).connect() as other:
        assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": gone}).scalar()
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)
    assert _backend(engine) != gone and pings == [1]  # the ping found it gone: the request got a new one
