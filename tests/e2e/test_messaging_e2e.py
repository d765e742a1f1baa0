"""The event backbone on a real Kafka broker: relay crash safety, duplicates, poison messages."""
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from sqlalchemy import func, insert, select, update

from runtime.consumer import EventConsumer
from runtime.db import make_engine, make_session_factory
from runtime.events import make_event
from runtime.kafka import make_consumer, make_producer
from runtime.messaging import publish
from runtime.projection import replay
from tests.e2e.conftest import applied as _applied, drain as _drain

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def _wait(predicate, timeout_s=60.0, what="condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _relay(database_url, kafka):
    env = dict(os.environ, DIRECTORY_DATABASE_URL=database_url, KAFKA_BOOTSTRAP_SERVERS=kafka)
    return subprocess.Popen([sys.executable, "-m", "runtime.cli", "relay", "directory"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_killing_the_relay_between_commit_and_publish_loses_nothing(new_database, kafka_bootstrap):
    from directory.tables import metadata
    url = new_database("directory")
    sessions = make_session_factory(make_engine(url), metadata)
    marker = uuid.uuid4().hex[:8]
    ids = set()
    # payroll.runs: a topic no service consumes, so these 20,000 events cost the other tests nothing.
    with sessions() as session, session.begin():
        for i in range(20000):
            event = make_event("payroll.run.drafted", marker, {
                "run_id": f"{marker}-{i}", "organisation": "test", "year": 2026, "month": 1, "state": "draft",
                "employees": 0, "gross_total": 0, "net_total": 0, "content_hash": marker}, "test")
            ids.add(event.event_id)
            publish(session, event)
    outbox = metadata.tables["outbox"]

    def sent():  # a row marked sent is deleted from the outbox
        with sessions() as s:
            return len(ids) - s.execute(select(func.count()).select_from(outbox)).scalar()

    relay = _relay(url, kafka_bootstrap)
    _wait(lambda: sent() > 0, what="the relay to publish a first batch")
    relay.send_signal(signal.SIGKILL)  # mid-stream: committed rows are left unpublished or unmarked
    relay.wait()
    assert sent() < len(ids), "the relay finished before it was killed; nothing was tested"
    relay = _relay(url, kafka_bootstrap)
    try:
        _wait(lambda: sent() == len(ids), timeout_s=120, what="the restarted relay to drain the outbox")
    finally:
        relay.terminate()
        relay.wait()
    seen = set()
    replay(kafka_bootstrap, ["payroll.runs"], lambda e: seen.add(e.event_id) if e.key == marker else None)
    assert ids <= seen


def _consumer(kafka, sessions, topic, handler):
    kafka_consumer = make_consumer(kafka, f"test-{uuid.uuid4().hex[:8]}", "test")
    kafka_consumer.subscribe([topic])
    return EventConsumer("test", kafka_consumer, make_producer(kafka, "test-dlq"), sessions,
                         {"directory.holiday.upserted": handler}, max_attempts=3, retry_backoff_s=0.01)


def _record_name(session, event):
    if event.data["name"] == "always-fails":
        raise RuntimeError("this handler cannot apply it")
    session.execute(insert(session.info["metadata"].tables["applied"]).values(event_id=event.event_id, name=event.data["name"]))


def test_a_duplicated_event_has_one_effect(consumer_db, kafka_bootstrap):
    topic = f"test.dup.{uuid.uuid4().hex[:8]}"
    producer = make_producer(kafka_bootstrap, "test")
    event = make_event("directory.holiday.upserted", "2026-08-17", {"date": "2026-08-17", "name": "Kemerdekaan"}, "test")
    for _ in range(3):  # the relay re-sent it after a crash, and once more
        producer.send(topic, key=event.key, value=event.to_json()).get(timeout=30)
    after = make_event("directory.holiday.upserted", "2026-08-17", {"date": "2026-08-17", "name": "after"}, "test")
    producer.send(topic, key=after.key, value=after.to_json()).get(timeout=30)
    consumer = _consumer(kafka_bootstrap, consumer_db, topic, _record_name)
    _drain(consumer, lambda: "after" in _applied(consumer_db))
    assert sorted(_applied(consumer_db)) == ["Kemerdekaan", "after"]


def test_a_poison_message_lands_in_the_dlq_and_the_partition_moves_on(consumer_db, kafka_bootstrap):
    topic = f"test.poison.{uuid.uuid4().hex[:8]}"
    producer = make_producer(kafka_bootstrap, "test")
    key = "same-key-same-partition"
    producer.send(topic, key=key, value=b"{not json at all").get(timeout=30)
    failing = make_event("directory.holiday.upserted", key, {"date": "2026-01-01", "name": "always-fails"}, "test")
    producer.send(topic, key=key, value=failing.to_json()).get(timeout=30)
    good = make_event("directory.holiday.upserted", key, {"date": "2026-01-01", "name": "Tahun Baru"}, "test")
    producer.send(topic, key=key, value=good.to_json()).get(timeout=30)
    consumer = _consumer(kafka_bootstrap, consumer_db, topic, _record_name)
    _drain(consumer, lambda: "Tahun Baru" in _applied(consumer_db))
    assert _applied(consumer_db) == ["Tahun Baru"]
    dead = make_consumer(kafka_bootstrap, None, "test-dlq-reader", consumer_timeout_ms=10000)
    dead.subscribe([f"{topic}.dlq"])
    letters = []
    for record in dead:
        letters.append((record.value, dict(record.headers)))
        if len(letters) == 2:
            break
    dead.close()
    assert letters[0][0] == b"{not json at all"
    assert b"invalid event" in letters[0][1]["error"]
    assert b"handler failed 3 times" in letters[1][1]["error"]
    assert letters[1][1]["source_topic"] == topic.encode()


def test_a_batch_with_one_failing_event_applies_the_others_and_dead_letters_only_that_one(consumer_db,
                                                                                            kafka_bootstrap):
    topic = f"test.batch.{uuid.uuid4().hex[:8]}"
    producer = make_producer(kafka_bootstrap, "test")
    key = "same-key-same-partition"
    names = ["Tahun Baru", "always-fails", "Nyepi", "Waisak"]
    sent = [make_event("directory.holiday.upserted", key, {"date": "2026-01-01", "name": name}, "test")
            for name in names]
    for event in sent:
        producer.send(topic, key=key, value=event.to_json()).get(timeout=30)
    consumer = _consumer(kafka_bootstrap, consumer_db, topic, _record_name)
    polled, deadline = [], time.monotonic() + 60
    while time.monotonic() < deadline and "Waisak" not in _applied(consumer_db):
        polled.append(consumer.poll_once(timeout_ms=300))
    assert max(polled) > 1, "the events never came in one poll; no batch was tested"
    assert sorted(_applied(consumer_db)) == ["Nyepi", "Tahun Baru", "Waisak"]
    dead = make_consumer(kafka_bootstrap, None, "test-dlq-reader", consumer_timeout_ms=5000)
    dead.subscribe([f"{topic}.dlq"])
    letters = [(record.value, dict(record.headers)) for record in dead]
    dead.close()
    assert [value for value, _ in letters] == [sent[1].to_json().encode()]
    assert b"handler failed 3 times" in letters[0][1]["error"]


def test_an_idle_relay_is_woken_by_the_outbox_commit_not_by_a_timer(consumer_db, kafka_bootstrap):
    from runtime.relay import run_relay
    outbox = consumer_db.kw["info"]["metadata"].tables["outbox"]
    marker = uuid.uuid4().hex[:8]

    def publish_one(n):
        with consumer_db() as session, session.begin():
            publish(session, make_event("payroll.run.drafted", marker, {
                "run_id": f"{marker}-{n}", "organisation": "test", "year": 2026, "month": 1, "state": "draft",
                "employees": 0, "gross_total": 0, "net_total": 0, "content_hash": marker}, "test"))

    def unsent():
        with consumer_db() as s:
            return s.execute(select(func.count()).select_from(outbox)).scalar()

    stop = threading.Event()
    producer = make_producer(kafka_bootstrap, "test-wakeup")
    # a poll of ten minutes: within the test's minute only the commit's NOTIFY can wake the relay
    relay = threading.Thread(target=run_relay, args=(consumer_db, producer, "test", stop),
                             kwargs={"idle_wait_s": 600, "idle_poll_s": 600}, daemon=True)
    relay.start()
    try:
        publish_one(0)
        _wait(lambda: unsent() == 0, what="the first event to be relayed")
        for n in range(1, 4):  # each while the relay is idle, waiting
            time.sleep(0.5)
            publish_one(n)
            _wait(lambda: unsent() == 0, what=f"event {n} to be relayed after its commit's NOTIFY")
    finally:
        stop.set()
        relay.join(timeout=30)
        producer.close()
    assert not relay.is_alive()



def test_two_relays_on_one_outbox_send_each_row_once_in_order_and_the_standby_takes_over(consumer_db, kafka_bootstrap):
    """Every instance of a service may run its relay; only the lease holder sends, so no row goes out twice or
    out of order, and when the holder stops the standby sends what comes next."""
    import json

    from runtime.relay import run_relay
    outbox = consumer_db.kw["info"]["metadata"].tables["outbox"]
    marker = uuid.uuid4().hex[:8]

    def publish_many(first, count):
        with consumer_db() as session, session.begin():
            publish(session, *[make_event("payroll.run.drafted", marker, {
                "run_id": f"{marker}-{n:04d}", "organisation": "test", "year": 2026, "month": 1, "state": "draft",
                "employees": n, "gross_total": 0, "net_total": 0, "content_hash": marker}, "test")
                for n in range(first, first + count)])

    def unsent():
        with consumer_db() as s:
            return s.execute(select(func.count()).select_from(outbox)).scalar()

    stops = [threading.Event(), threading.Event()]
    producers = [make_producer(kafka_bootstrap, f"test-lease-{n}") for n in range(2)]
    relays = [threading.Thread(target=run_relay, args=(consumer_db, producers[n], "test", stops[n]),
                               kwargs={"standby_s": 0.2}, daemon=True) for n in range(2)]
    try:
        relays[0].start()
        publish_many(0, 50)
        _wait(lambda: unsent() == 0, what="the first relay to take the lease and send")
        relays[1].start()  # a second instance's relay: it stands by
        for batch in range(1, 6):
            publish_many(batch * 50, 50)
        _wait(lambda: unsent() == 0, what="the outbox to be sent while two relays run")
        stops[0].set()  # the holder stops: its connection closes and the lease is free
        relays[0].join(timeout=30)
        assert not relays[0].is_alive()
        publish_many(300, 50)
        _wait(lambda: unsent() == 0, what="the standby to take over and send what came after")
    finally:
        for stop in stops:
            stop.set()
        for relay in relays:
            relay.join(timeout=30)
        for producer in producers:
            producer.close()
    reader = make_consumer(kafka_bootstrap, None, f"test-lease-reader-{marker}", consumer_timeout_ms=5000)
    reader.subscribe(["payroll.runs"])
    seen = [doc["data"]["employees"] for doc in (json.loads(record.value) for record in reader)
            if doc["key"] == marker]
    reader.close()
    assert seen == list(range(350))  # each row once, in outbox order, across the change of holder
