"""The consumer applies a poll's events in one transaction, and falls back to one by one when that fails."""
from collections import namedtuple

import pytest

from sqlalchemy import insert, select

from runtime.consumer import EventConsumer
from runtime.events import make_event

Record = namedtuple("Record", "topic partition offset key value")
TP = namedtuple("TP", "topic partition")
TOPIC = "test.batches"


class FakeKafka:
    """Hands out the given polls one after the other and remembers the offsets committed."""

    def __init__(self, *polls):
        self.polls = list(polls)
        self.committed = []
        self.assigned = {tp for poll in polls for tp in poll}

    def poll(self, timeout_ms):
        return self.polls.pop(0) if self.polls else {}

    def assignment(self):
        return set(self.assigned)

    def seek(self, partition, offset):
        pass

    def commit(self, offsets):
        self.committed.append({(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()})


class FakeFuture:
    def get(self, timeout):
        return None


class FakeProducer:
    """Collects dead letters."""

    def __init__(self):
        self.sent = []

    def send(self, topic, key, value, headers):
        self.sent.append((topic, value, dict(headers)))
        return FakeFuture()


def _event(name, key="2026-08-17"):
    return make_event("directory.holiday.upserted", key, {"date": "2026-08-17", "name": name}, "test")


def _records(events, partition=0, first_offset=0):
    return [Record(TOPIC, partition, first_offset + i, b"k", e if isinstance(e, bytes) else e.to_json().encode())
            for i, e in enumerate(events)]


def _record_name(session, event):
    if event.data["name"] == "always-fails":
        raise RuntimeError("this handler cannot apply it")
    session.execute(insert(session.info["metadata"].tables["applied"])
                    .values(event_id=event.event_id, name=event.data["name"]))


def _consumer(sessions, kafka, producer):
    return EventConsumer("test", kafka, producer, sessions, {"directory.holiday.upserted": _record_name},
                         max_attempts=3, retry_backoff_s=0)


def _applied(sessions):
    with sessions() as s:
        return sorted(r.name for r in s.execute(select(s.info["metadata"].tables["applied"].c.name)))


def _inbox(sessions):
    with sessions() as s:
        return {r.event_id for r in s.execute(select(s.info["metadata"].tables["inbox"].c.event_id))}


def test_a_batch_with_one_failing_event_keeps_the_others_and_dead_letters_only_that_one(sessions):
    good, failing, later = _event("Kemerdekaan"), _event("always-fails"), _event("Tahun Baru")
    kafka = FakeKafka({TP(TOPIC, 0): _records([good, failing, later])})
    producer = FakeProducer()
    consumer = _consumer(sessions, kafka, producer)
    assert consumer.poll_once() == 3
    assert _applied(sessions) == ["Kemerdekaan", "Tahun Baru"]
    assert _inbox(sessions) == {good.event_id, later.event_id}
    assert len(producer.sent) == 1
    topic, value, headers = producer.sent[0]
    assert topic == f"{TOPIC}.dlq" and value == failing.to_json().encode()
    assert b"handler failed 3 times" in headers["error"]
    assert kafka.committed == [{(TOPIC, 0): 3}]


def test_a_batch_is_applied_once_per_event_id_across_partitions_and_commits_each_partition(sessions):
    first, second = _event("Kemerdekaan"), _event("Natal")
    again = _event("Nyepi")
    kafka = FakeKafka({TP(TOPIC, 0): _records([first, first, second]), TP(TOPIC, 1): _records([again], 1, 7)},
                      {TP(TOPIC, 0): _records([second], 0, 3)})  # redelivered after a crash
    producer = FakeProducer()
    consumer = _consumer(sessions, kafka, producer)
    assert consumer.poll_once() == 4
    assert consumer.poll_once() == 1
    assert _applied(sessions) == ["Kemerdekaan", "Natal", "Nyepi"]
    assert producer.sent == []
    assert kafka.committed == [{(TOPIC, 0): 3, (TOPIC, 1): 8}, {(TOPIC, 0): 4}]


def test_an_unparseable_record_in_a_batch_is_dead_lettered_and_the_rest_applied(sessions):
    good = _event("Kemerdekaan")
    kafka = FakeKafka({TP(TOPIC, 0): _records([b"{not json at all", good, _event("Natal")])})
    producer = FakeProducer()
    consumer = _consumer(sessions, kafka, producer)
    consumer.poll_once()
    assert _applied(sessions) == ["Kemerdekaan", "Natal"]
    assert [(v, b"invalid event" in h["error"]) for _, v, h in producer.sent] == [(b"{not json at all", True)]


def test_apply_of_one_event_still_skips_a_duplicate(sessions):
    consumer = _consumer(sessions, FakeKafka(), FakeProducer())
    event = _event("Kemerdekaan")
    assert consumer.apply(event) is True
    assert consumer.apply(event) is False
    assert _applied(sessions) == ["Kemerdekaan"]


def test_a_many_handler_gets_each_run_of_its_type_at_once_in_order(sessions):
    from runtime.consumer import ManyHandler
    calls = []
    unit = make_event("directory.unit.upserted", "u1", {"unit_id": "u1", "name": "Dinas", "active": True}, "test")
    first, second, third = _event("Kemerdekaan"), _event("Natal"), _event("Nyepi")
    handlers = {"directory.holiday.upserted": ManyHandler(lambda s, events: calls.append([e.data["name"] for e in events])),
                "directory.unit.upserted": lambda s, event: calls.append(event.data["name"])}
    consumer = EventConsumer("test", FakeKafka({TP(TOPIC, 0): _records([first, second, unit, third])}), FakeProducer(),
                             sessions, handlers)
    consumer.poll_once()
    assert calls == [["Kemerdekaan", "Natal"], "Dinas", ["Nyepi"]]
    assert consumer.apply(_event("Waisak")) is True
    assert calls[-1] == ["Waisak"]


def test_the_claim_is_told_which_polls_may_hold_events_applied_before(sessions, monkeypatch):
    """Newly assigned partitions (a start, a rebalance) and rewound ones are unsure until a poll of theirs skips
    nothing; a poll from them is claimed as possibly redelivered, any other the cheaper way."""
    import runtime.consumer
    told = []

    def claim(session, consumer, events, redelivery_possible=False):
        told.append(redelivery_possible)
        return real_claim(session, consumer, events, redelivery_possible=redelivery_possible)

    real_claim = runtime.consumer.claim
    monkeypatch.setattr(runtime.consumer, "claim", claim)
    a, b, c, d = (_event(name) for name in ("A", "B", "C", "D"))
    kafka = FakeKafka({TP(TOPIC, 0): _records([a, b])},           # after a restart: applied before the crash
                      {TP(TOPIC, 0): _records([c], 0, 2)},        # still unsure: nothing skipped, so sure after it
                      {TP(TOPIC, 0): _records([d], 0, 3)},
                      {TP(TOPIC, 1): _records([_event("E")], 1)})  # a partition newly assigned: unsure
    kafka.assigned = {TP(TOPIC, 0)}
    consumer = _consumer(sessions, kafka, FakeProducer())
    assert consumer.apply(a) and consumer.apply(b)  # what the process before the restart applied
    told.clear()
    for _ in range(3):
        consumer.poll_once()
    kafka.assigned = {TP(TOPIC, 0), TP(TOPIC, 1)}
    consumer.poll_once()
    assert told == [True, True, False, True]
    assert _applied(sessions) == ["A", "B", "C", "D", "E"]


def test_a_rewound_partition_is_claimed_as_possibly_redelivered(sessions, monkeypatch):
    import runtime.consumer
    told = []
    real_claim = runtime.consumer.claim
    monkeypatch.setattr(runtime.consumer, "claim", lambda session, consumer, events, redelivery_possible=False: (
        told.append(redelivery_possible) or real_claim(session, consumer, events, redelivery_possible=redelivery_possible)))
    first, failing, again = _event("Kemerdekaan"), _event("always-fails"), _event("Natal")
    kafka = FakeKafka({TP(TOPIC, 0): _records([first])}, {TP(TOPIC, 0): _records([failing], 0, 1)},
                      {TP(TOPIC, 0): _records([again], 0, 2)}, {TP(TOPIC, 0): _records([_event("Nyepi")], 0, 3)})
    producer = FakeProducer()

    def refuse(*args, **kwargs):
        raise RuntimeError("broker down")
    producer.send = refuse  # the dead letter cannot be sent: the poll fails and is rewound
    consumer = _consumer(sessions, kafka, producer)
    consumer.poll_once()
    with pytest.raises(RuntimeError):
        consumer.poll_once()
    consumer.poll_once()
    consumer.poll_once()
    assert told[0] is True and told[1] is False  # unsure at the start, sure after a poll that skipped nothing
    assert told[-2:] == [True, False]  # after the rewind: unsure for one clean poll
