"""The pipelined relay's bookkeeping, on SQLite with a producer whose acknowledgements the test gives: rows are
marked sent (deleted from the outbox) only as an acknowledged prefix, a failure leaves every later row unsent (sent again, in order), and a
row committed late with a lower id is not skipped. (The real broker: tests/e2e/test_broker_outage_e2e.py.)"""
from datetime import datetime, timezone

import pytest
from kafka.future import Future
from sqlalchemy import insert, select, update

from runtime.events import make_event
from runtime.messaging import publish
from runtime.relay import Relay, RelayFailed


class HeldProducer:
    """Keeps every send's future for the test to resolve; `flush` does nothing (the test acknowledges)."""

    def __init__(self, batches: bool = False):
        self.sent: list[tuple[str, Future]] = []
        self.batches = batches

    def send_all(self, topics, keys, values):
        """One future per record; with `batches`, records of the same key prefix share one (one batch, as
        `runtime.kafka_appends.Acks`)."""
        by_batch: dict[str, Future] = {}
        futures = [by_batch.setdefault(key[0], Future()) if self.batches else Future() for key in keys]
        self.sent.extend(zip(keys, futures))
        return futures

    def flush(self, timeout=None):
        pass


def _publish(sessions, *keys):
    with sessions() as session, session.begin():
        publish(session, *(make_event("directory.holiday.upserted", key, {"date": "2026-12-25", "name": key}, "t")
                           for key in keys))


def _unsent_keys(sessions) -> list[str]:
    """The keys still in the outbox (a row marked sent is deleted)."""
    with sessions() as session:
        outbox = session.info["metadata"].tables["outbox"]
        return list(session.execute(select(outbox.c.key).order_by(outbox.c.id)).scalars())


def _marks_committed(relay):
    for mark in relay.marks:
        mark.result()


@pytest.fixture
def relay(sessions):
    producer = HeldProducer()
    relay = Relay(sessions, producer, "test", batch_size=10, send_timeout_s=0.01)
    yield relay, producer
    relay.close()


def test_rows_are_marked_only_as_an_acknowledged_prefix(sessions, relay):
    relay, producer = relay
    _publish(sessions, "a", "b", "c", "d")
    assert relay.send_more() == 4
    producer.sent[1][1].success(None)
    producer.sent[2][1].success(None)
    assert relay.settle(wait=False) == 0  # "a" is not acknowledged: "b" and "c" wait for it
    assert _unsent_keys(sessions) == ["a", "b", "c", "d"]
    producer.sent[0][1].success(None)
    relay.settle(wait=False)
    _marks_committed(relay)
    assert _unsent_keys(sessions) == ["d"]  # still waiting for its acknowledgement


def test_a_failed_row_leaves_every_later_row_unsent_and_they_are_sent_again_in_order(sessions, relay):
    relay, producer = relay
    _publish(sessions, "a", "b", "c")
    relay.send_more()
    producer.sent[0][1].success(None)
    producer.sent[1][1].failure(RuntimeError("broker refused"))
    producer.sent[2][1].success(None)  # acknowledged, but after a failed row: not marked
    with pytest.raises(RelayFailed):
        relay.settle(wait=True)
    relay.reset()
    assert _unsent_keys(sessions) == ["b", "c"]
    assert relay.send_more() == 2
    assert [key for key, _ in producer.sent[3:]] == ["b", "c"]
    for _, future in producer.sent[3:]:
        future.success(None)
    relay.settle(wait=True)
    assert _unsent_keys(sessions) == []


def test_a_row_not_acknowledged_in_time_fails_the_batch(sessions, relay):
    relay, producer = relay
    _publish(sessions, "a")
    relay.send_more()
    with pytest.raises(RelayFailed, match="not acknowledged"):
        relay.settle(wait=True)
    assert _unsent_keys(sessions) == ["a"]


def test_a_row_committed_late_with_a_lower_id_is_sent_on_the_next_round(sessions, relay):
    relay, producer = relay
    _publish(sessions, "b", "c")
    with sessions() as session, session.begin():  # "b" and "c" took ids after one whose transaction is still open
        outbox = session.info["metadata"].tables["outbox"]
        session.execute(update(outbox).values(id=outbox.c.id + 10))
    relay.send_more()
    for _, future in producer.sent:
        future.success(None)
    with sessions() as session, session.begin():
        session.execute(insert(outbox).values(id=1, event_id="late", topic="t", key="late", type="t",
                                              payload="{}", created_at=datetime.now(timezone.utc)))
    assert relay.step() == (2, False)  # caught up: "b" and "c" marked; the next round reads from the start
    assert relay.send_more() == 1
    assert [key for key, _ in producer.sent] == ["b", "c", "late"]


def test_rows_sharing_a_batch_are_marked_with_it_and_its_failure_leaves_them_and_every_later_row_unsent(sessions):
    producer = HeldProducer(batches=True)
    relay = Relay(sessions, producer, "test", batch_size=10, send_timeout_s=0.01)
    try:
        _publish(sessions, "a1", "b1", "a2", "c1", "b2")  # batches a, b, c, interleaved in outbox order
        assert relay.send_more() == 5
        batches = {key[0]: future for key, future in producer.sent}
        batches["a"].success(None)
        relay.settle(wait=False)
        _marks_committed(relay)
        assert _unsent_keys(sessions) == ["b1", "a2", "c1", "b2"]  # "a2" waits for "b1"
        batches["c"].success(None)
        batches["b"].failure(RuntimeError("broker refused"))
        with pytest.raises(RelayFailed, match="row 2 refused"):  # "b1", the second row
            relay.settle(wait=True)
        relay.reset()
        assert _unsent_keys(sessions) == ["b1", "a2", "c1", "b2"]
    finally:
        relay.close()
