"""LISTEN/NOTIFY on a real PostgreSQL: an outbox write wakes the waiting relay when it commits, not before, and
never when it rolls back."""
import threading

import pytest
from sqlalchemy import create_engine, text

from runtime.events import make_event
from runtime.messaging import publish
from runtime.wakeup import OUTBOX_CHANNEL, Wakeup
from tests.conftest import messaging_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def sessions(pg_server_url):
    with messaging_database(pg_server_url, "wakeup") as made:
        yield made


def _event():
    return make_event("directory.holiday.upserted", "2026-12-25", {"date": "2026-12-25", "name": "Natal"}, "test")


@pytest.fixture
def wakeup(sessions):
    wakeup = Wakeup(sessions.kw["bind"], OUTBOX_CHANNEL, poll_s=0.5)
    wakeup.listen()
    assert wakeup.wait(threading.Event())  # a fresh connection may have missed one: the first wait says so
    yield wakeup
    wakeup.close()


def test_an_outbox_commit_wakes_the_waiter(sessions, wakeup):
    with sessions() as session, session.begin():
        publish(session, _event())
        publish(session, _event())  # several in one transaction: one wake-up
        assert not wakeup.wait(threading.Event())  # not delivered before the commit
    assert wakeup.wait(threading.Event())
    assert not wakeup.wait(threading.Event())  # drained: nothing more until the next commit


def test_a_rolled_back_outbox_write_wakes_nobody(sessions, wakeup):
    with sessions() as session, session.begin():
        publish(session, _event())
        session.rollback()
    assert not wakeup.wait(threading.Event())


def test_a_lost_listening_connection_is_reopened(sessions, wakeup, pg_server_url):
    admin = create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": wakeup.connection.info.backend_pid})
    admin.dispose()
    assert not wakeup.wait(threading.Event())  # the loss is noticed; the loop looks for work anyway
    wakeup.listen()
    assert wakeup.wait(threading.Event())  # reopened: may have missed a commit, so the loop looks
    with sessions() as session, session.begin():
        publish(session, _event())
    assert wakeup.wait(threading.Event())
