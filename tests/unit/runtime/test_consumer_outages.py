"""A broker outage never ends the consumer loop, and loses or doubles nothing: failed commits are covered by
later ones, a batch whose handling failed is polled again (the inbox skips what was already applied)."""
import threading
from collections import namedtuple

import pytest
from kafka.errors import KafkaConnectionError, KafkaTimeoutError
from sqlalchemy import insert, select

from runtime.consumer import EventConsumer
from runtime.events import make_event
from runtime.kafka import Backoff

Record = namedtuple("Record", "topic partition offset key value")
TP = namedtuple("TP", "topic partition")
TOPIC = "test.outages"


class LogKafka:
    """One partition's log read from a position, as a consumer does; `failures` holds the errors its next
    calls raise (by method name), to play an outage."""

    def __init__(self, values, per_poll=2):
        self.log = [Record(TOPIC, 0, offset, b"k", value) for offset, value in enumerate(values)]
        self.position = 0
        self.per_poll = per_poll
        self.committed = None
        self.failures = {"poll": [], "commit": []}

    def _maybe_fail(self, method):
        if self.failures[method]:
            raise self.failures[method].pop(0)

    def poll(self, timeout_ms):
        self._maybe_fail("poll")
        records = self.log[self.position:self.position + self.per_poll]
        self.position += len(records)
        return {TP(TOPIC, 0): records} if records else {}

    def commit(self, offsets):
        self._maybe_fail("commit")
        (meta,) = offsets.values()
        self.committed = meta.offset

    def assignment(self):
        from kafka.structs import TopicPartition
        return {TopicPartition(TOPIC, 0)}

    def seek(self, partition, offset):
        self.position = offset

    def close(self):
        pass


class Done:
    def get(self, timeout):
        return None


class FlakyProducer:
    """Takes dead letters, except for the first `refusals` sends, which time out as with the broker down."""

    def __init__(self, refusals=0):
        self.refusals = refusals
        self.sent = []

    def send(self, topic, key, value, headers):
        if self.refusals:
            self.refusals -= 1
            raise KafkaTimeoutError("broker down")
        self.sent.append(value)
        return Done()


def _record_name(session, event):
    session.execute(insert(session.info["metadata"].tables["applied"])
                    .values(event_id=event.event_id, name=event.data["name"]))


def _event(name):
    return make_event("directory.holiday.upserted", "k", {"date": "2026-08-17", "name": name}, "test").to_json().encode()


def _applied(sessions):
    with sessions() as s:
        return sorted(r.name for r in s.execute(select(s.info["metadata"].tables["applied"].c.name)))


def _consumer(sessions, kafka, producer):
    return EventConsumer("test", kafka, producer, sessions, {"directory.holiday.upserted": _record_name},
                         max_attempts=2, retry_backoff_s=0)


def test_a_failed_offset_commit_keeps_the_batch_and_a_later_commit_covers_it(sessions):
    kafka = LogKafka([_event("a"), _event("b"), _event("c")])
    kafka.failures["commit"] = [KafkaTimeoutError("commit timed out")]
    consumer = _consumer(sessions, kafka, FlakyProducer())
    assert consumer.poll_once() == 2  # applied, the commit failed, and the loop goes on
    assert kafka.committed is None
    assert consumer.poll_once() == 1
    assert kafka.committed == 3
    assert _applied(sessions) == ["a", "b", "c"]


def test_a_batch_whose_dead_letter_the_broker_refused_is_polled_again_and_applied_once(sessions):
    kafka = LogKafka([_event("a"), b"{not json", _event("c")], per_poll=3)
    producer = FlakyProducer(refusals=2)
    consumer = _consumer(sessions, kafka, producer)
    for _ in range(2):
        with pytest.raises(KafkaTimeoutError):
            consumer.poll_once()
        assert kafka.position == 0 and kafka.committed is None  # rewound: the batch is read again
    assert consumer.poll_once() == 3
    assert producer.sent == [b"{not json"]
    assert _applied(sessions) == ["a", "c"]
    assert kafka.committed == 3


def test_the_loop_outlives_an_outage_and_resumes(sessions):
    kafka = LogKafka([_event(name) for name in "abcdefg"])
    kafka.failures["poll"] = [KafkaConnectionError("connection refused"), KafkaTimeoutError("metadata")]
    kafka.failures["commit"] = [KafkaTimeoutError("commit timed out")] * 2
    stop = threading.Event()
    real_poll = kafka.poll

    def poll(timeout_ms):
        batch = real_poll(timeout_ms)
        if kafka.position == len(kafka.log) and kafka.committed == len(kafka.log):
            stop.set()
        return batch

    kafka.poll = poll
    thread = threading.Thread(target=_consumer(sessions, kafka, FlakyProducer()).run, args=(stop, Backoff(0, 0)))
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert _applied(sessions) == list("abcdefg")
    assert kafka.committed == 7


def test_backoff_doubles_up_to_its_ceiling_and_starts_again_after_a_success():
    backoff = Backoff(0.5, 3.0)
    assert [backoff.failed() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.failed() == 0.5
