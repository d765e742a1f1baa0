"""The relay lease on a real PostgreSQL: one holder at a time, a standby takes over when the holder's
connection ends (closed, or killed by the server), and SQLite always holds it."""
import time
import uuid

import pytest
from sqlalchemy import create_engine, text

from runtime.db import make_engine
from runtime.lease import Lease

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine(pg_server_url):
    engine = create_engine(pg_server_url)
    yield engine
    engine.dispose()


def test_one_holder_at_a_time_and_the_standby_takes_over_when_it_lets_go(engine):
    name = f"test-relay:{uuid.uuid4().hex[:8]}"
    first, second, other = Lease(engine, name), Lease(engine, name), Lease(engine, name + "-other")
    try:
        assert first.held()
        assert not second.held() and not second.held()
        assert other.held()  # another role is another lock
        first.close()
        assert second.held()
        assert not first.held()  # the former holder now stands by
    finally:
        for lease in (first, second, other):
            lease.close()


def test_a_holder_whose_connection_the_server_ends_loses_the_lease(engine):
    name = f"test-relay:{uuid.uuid4().hex[:8]}"
    holder, standby = Lease(engine, name, check_s=0), Lease(engine, name)
    try:
        assert holder.held() and not standby.held()
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :n"),
                         {"n": f"lease:{name}"})
        deadline = time.monotonic() + 10
        while standby.held() is False and time.monotonic() < deadline:
            time.sleep(0.1)
        assert standby.held()
        assert not holder.held()  # it notices at its next check, and asks again: the standby has it now
    finally:
        holder.close()
        standby.close()


def test_sqlite_has_one_machine_and_always_holds_it(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'lease.db'}")
    assert Lease(engine, "relay").held() and Lease(engine, "relay").held()
    engine.dispose()
