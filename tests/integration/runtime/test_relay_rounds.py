"""Where the relay's rounds start on a real PostgreSQL: after the rows handed over, or just below an id whose
transaction is still open (a gap), so a row committed late is sent on the next round; a row committed after its
gap was let go is sent by the next round from the first id. Rows are acknowledged by the test
(`HeldProducer`); the real broker: tests/e2e/test_broker_outage_e2e.py."""
from contextlib import contextmanager

import pytest
from sqlalchemy import select, text

from runtime.events import make_event
from runtime.messaging import publish
from runtime.relay import Relay
from tests.conftest import messaging_database
from tests.unit.runtime.test_relay_pipeline import HeldProducer

pytestmark = pytest.mark.postgres


@pytest.fixture
def sessions(pg_server_url):
    with messaging_database(pg_server_url, "relay_rounds") as made:
        yield made


def _event(key):
    return make_event("directory.holiday.upserted", key, {"date": "2026-12-25", "name": key}, "t")


def _publish(sessions, *keys):
    with sessions() as session, session.begin():
        publish(session, *(_event(key) for key in keys))


def _round(relay, producer):
    """Acknowledge everything sent and end the round (the relay has caught up)."""
    for _, future in producer.sent:
        if not future.is_done:
            future.success(None)
    return relay.step()


def _unsent(sessions):
    with sessions() as session:
        outbox = session.info["metadata"].tables["outbox"]
        return list(session.execute(select(outbox.c.key).order_by(outbox.c.id)).scalars())


@contextmanager
def _relay(sessions, **options):
    """A relay of 10-row batches and the producer it hands rows to, closed afterwards."""
    producer = HeldProducer()
    relay = Relay(sessions, producer, "test", batch_size=10, send_timeout_s=0.01, **options)
    try:
        yield relay, producer
    finally:
        relay.close()


def test_a_round_starts_after_the_rows_handed_over_when_no_id_is_missing(sessions):
    with _relay(sessions) as (relay, producer):
        _publish(sessions, "a", "b", "c")
        relay.send_more()
        assert _round(relay, producer) == (3, False)
        assert relay.gaps == [] and relay.after_id == relay.top > 0  # not from the first id: the rows below are gone
        _publish(sessions, "d")
        assert relay.send_more() == 1
        _round(relay, producer)
        assert [key for key, _ in producer.sent] == ["a", "b", "c", "d"] and _unsent(sessions) == []


def test_a_row_committed_late_in_a_gap_is_sent_on_the_next_round(sessions):
    with _relay(sessions) as (relay, producer):
        _publish(sessions, "a")
        relay.send_more()
        _round(relay, producer)
        with sessions() as late:
            late.begin()
            publish(late, _event("late"))  # its id taken, its transaction still open
            _publish(sessions, "b")
            relay.send_more()
            _round(relay, producer)
            (gap,) = relay.gaps
            assert gap[0] == gap[1] == relay.after_id + 1  # the next round starts just below the missing id
            late.commit()
        assert relay.send_more() == 1
        _round(relay, producer)
        assert [key for key, _ in producer.sent] == ["a", "b", "late"] and _unsent(sessions) == []
        assert relay.gaps == [] and relay.after_id == relay.top


def test_a_row_committed_after_its_gap_was_let_go_is_sent_by_the_next_round_from_the_first_id(sessions):
    with _relay(sessions, gap_s=0.0, rescan_s=3600) as (relay, producer):
        _publish(sessions, "a")
        relay.send_more()
        _round(relay, producer)
        with sessions() as late:
            late.begin()
            publish(late, _event("late"))
            _publish(sessions, "b")
            relay.send_more()
            _round(relay, producer)
            assert relay.gaps == []  # kept for no time at all
            late.commit()
        assert relay.step() == (0, True)  # the round after the rows handed over does not see it
        relay.rescanned -= 3600  # a round from the first id is due
        assert relay.step() == (0, True)
        assert relay.after_id == 0 and relay.send_more() == 1
        _round(relay, producer)
        assert [key for key, _ in producer.sent] == ["a", "b", "late"] and _unsent(sessions) == []


def test_after_a_failure_the_next_round_starts_from_the_first_id(sessions):
    with _relay(sessions) as (relay, producer):
        _publish(sessions, "a", "b")
        relay.send_more()
        relay.reset()  # nothing acknowledged: both stay unsent
        assert relay.after_id == relay.top == 0 and relay.gaps == []
        assert relay.send_more() == 2
        _round(relay, producer)
        assert [key for key, _ in producer.sent] == ["a", "b", "a", "b"] and _unsent(sessions) == []


def test_a_mark_on_a_lost_connection_fails_leaves_its_rows_unsent_and_the_next_mark_reconnects(sessions):
    with _relay(sessions) as (relay, producer):
        _publish(sessions, "a")
        relay.send_more()
        _round(relay, producer)
        pid = relay.mark_connection.connection.dbapi_connection.info.backend_pid
        with sessions() as session:
            session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        _publish(sessions, "b")
        relay.send_more()
        with pytest.raises(Exception):
            _round(relay, producer)
        relay.reset()
        assert relay.mark_connection is None and _unsent(sessions) == ["b"]
        assert relay.send_more() == 1
        _round(relay, producer)
        assert [key for key, _ in producer.sent] == ["a", "b", "b"] and _unsent(sessions) == []


def test_the_relays_reads_and_marks_are_planned_for_each_executions_values(sessions):
    """A statement run five times is prepared, and PostgreSQL may then keep one generic plan for it. The relay starts
    on a nearly empty outbox: a generic plan made then (for the marks, a scan filtering `id = ANY(array)` row by row)
    stayed cached while a burst grew the table to hundreds of thousands of rows. Its reads and marks never take one."""
    with _relay(sessions) as (relay, producer):
        for n in range(12):  # twice the marks and reads after which a generic plan would be chosen
            _publish(sessions, f"k{n}", f"k{n}b")
            relay.send_more()
            _round(relay, producer)
        assert _unsent(sessions) == []
        plans = "SELECT count(*), coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0) FROM pg_prepared_statements"
        prepared, generic, custom = relay.mark_connection.exec_driver_sql(plans).one()
        assert prepared >= 1 and custom >= 6 and generic == 0
        prepared, generic, custom = relay.reads.connection.execute(plans).fetchone()
        assert prepared >= 1 and custom >= 6 and generic == 0
