"""Scale-out on a real broker: two instances of a service's consumer in one group share the partitions of the
topics it reads (events are keyed by employee), apply a stream with no double effect (each event's handler runs
once, across both; the inbox drops what a rebalance redelivers), and the one left takes every partition over
when the other stops. For scoring (attendance's days: its input comes in bursts). Attendance's own bursty
input, the punches, is shared by several ingest job processes instead (tests/integration/attendance/
test_ingest_concurrent.py): their days are built as they are stored."""
import threading
import time
import uuid
from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from runtime.consumer import EventConsumer, ManyHandler
from runtime.events import make_event
from runtime.kafka import make_producer
from runtime.workers import build_consumer
from tests.conftest import make_settings, random_nip

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(300)]
MONDAY = date(2026, 11, 2)


def _counting(consumer: EventConsumer, applied: Counter) -> EventConsumer:
    """Count, by event id, every time one of the consumer's handlers applies an event."""
    for event_type, handler in list(consumer.handlers.items()):
        if isinstance(handler, ManyHandler):
            consumer.handlers[event_type] = ManyHandler(
                lambda session, events, many=handler.many: (applied.update(e.event_id for e in events),
                                                            many(session, events)))
        else:
            consumer.handlers[event_type] = (
                lambda session, event, one=handler: (applied.update([event.event_id]), one(session, event)))
    return consumer


def _wait(condition, what: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


class Group:
    """Two instances of service `name`'s real consumer in one (fresh) group, each in its own thread."""

    def __init__(self, name: str, url: str, kafka: str, topic: str):
        self.settings = make_settings(name, url, kafka)
        suffix = f"-scale-{uuid.uuid4().hex[:8]}"
        self.topic = topic
        self.applied = [Counter(), Counter()]
        self.members = [_counting(build_consumer(name, self.settings, group_suffix=suffix), counts)
                        for counts in self.applied]
        self.stops = [threading.Event(), threading.Event()]
        self.threads = [threading.Thread(target=m.run, args=(s,), daemon=True) for m, s in zip(self.members, self.stops)]
        for thread in self.threads:
            thread.start()

    def partitions(self, member: int) -> set[int]:
        return {tp.partition for tp in self.members[member].kafka.assignment() if tp.topic == self.topic}

    def stop(self, member: int) -> None:
        self.stops[member].set()
        self.threads[member].join(timeout=60)
        assert not self.threads[member].is_alive()

    def close(self) -> None:
        for member in range(2):
            if not self.stops[member].is_set():
                self.stop(member)


def _split_apply_and_take_over(group: Group, first: list, second: list, send, done) -> None:
    """Both members get partitions; `first` is applied by the two together, each event once; after member 0
    stops, member 1 holds every partition and applies `second`."""
    everything = {e.event_id for e in first + second}

    def ours(member: int) -> Counter:  # the stream's events (the members also read the topics' history)
        return Counter({k: n for k, n in group.applied[member].items() if k in everything})

    # Settled: each partition with one member. While a rebalance is under way a member that has rejoined still
    # reports its old assignment until the group's sync answers it (it fetches nothing meanwhile), so for a moment
    # both can list one partition: what must never happen, an event applied twice, is asserted at the end.
    def settled() -> bool:
        mine, theirs = group.partitions(0), group.partitions(1)
        return bool(mine) and bool(theirs) and not mine & theirs and len(mine | theirs) == 3

    _wait(settled, "both members to be assigned partitions, each partition to one of them")
    send(first)
    _wait(lambda: done(first), "the first half to be applied")
    assert ours(0) and ours(1), "one member did all the work: the partitions were not shared"
    group.stop(0)
    _wait(lambda: len(group.partitions(1)) == 3, "the remaining member to take every partition over")
    send(second)
    _wait(lambda: done(first + second), "the second half to be applied")
    assert {e.event_id for e in second} <= set(ours(1)), "the remaining member did not take the work over"
    together = ours(0) + ours(1)
    assert set(together) == everything
    assert max(together.values()) == 1, "an event was applied twice"


def _sender(kafka: str, topic: str):
    producer = make_producer(kafka, "scale-out-test")

    def send(events):
        for event in events:
            producer.send(topic, key=event.key, value=event.to_json())
        producer.flush(timeout=60)
    return send, producer


def _employees(consumer: EventConsumer, count: int, zone: str = "Asia/Jakarta") -> list[str]:
    nips = [random_nip() for _ in range(count)]
    for nip in nips:
        consumer.apply(make_event("directory.employee.upserted", nip, {
            "employee_id": nip, "name": "Pegawai", "unit_id": "dinkes", "status": "PNS", "zone": zone}, "test"))
    return nips


def test_two_scoring_consumers_share_the_days_and_one_takes_over(new_database, kafka_bootstrap):
    from scoring import tables
    url = new_database("scoring")
    group = Group("scoring", url, kafka_bootstrap, "attendance.days")
    send, producer = _sender(kafka_bootstrap, "attendance.days")
    try:
        nips = _employees(group.members[1], 24)

        def days(offset: int):
            day = MONDAY + timedelta(days=offset)
            at = lambda hhmm: f"{day.isoformat()}T{hhmm}:00+07:00"  # noqa: E731
            return [make_event("attendance.day.built", nip, {
                "employee_id": nip, "local_date": day.isoformat(), "zone": "Asia/Jakarta", "version": 1,
                "status": "present", "scheduled_start": at("07:30"), "scheduled_end": at("16:00"),
                "scheduled_minutes": 450, "clock_in": at("07:25"), "clock_out": at("16:05"), "presence_minutes": 520,
                "late_minutes": 0, "early_leave_minutes": 0, "overtime_minutes": 0, "late_band": None,
                "early_band": None, "missing_clock_in": False, "missing_clock_out": False,
                "punch_ids": ["p-in", "p-out"], "absence_kind": None, "absence_reference": None}, "test")
                for nip in nips]

        def done(events):
            with group.members[1].sessions() as session:
                stored = session.execute(select(func.count()).select_from(tables.days).where(
                    tables.days.c.employee_id.in_(nips))).scalar()
            return stored == len(events)

        _split_apply_and_take_over(group, days(0), days(1), send, done)
    finally:
        group.close()
        producer.close()
