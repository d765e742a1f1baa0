"""Benchmark: how fast the outbox relay drains a backlog, against the raw producer's ceiling in the same run.

Fills a fresh PostgreSQL outbox with `--rows` real `attendance.punch.recorded` events (keyed by employee, 5,000
employees), then, in the same process (the outbox emptied and filled again, untimed, before each drain):
- **ceiling**: one kafka-python producer with the platform's settings (`runtime.kafka.make_producer`, or the
  `--linger`, `--batch-kb`, `--compression` given) sends the same records (topic, key, payload) and flushes;
- **relay**: the pipelined relay (`runtime.relay.Relay`, the loop `run_relay` runs) drains the outbox: read,
  send, mark sent as acknowledged, until nothing is unsent;
- **serial** (`--serial`): the same outbox drained by `relay_once` in a loop (read 500, send, flush, wait for
  every acknowledgement, mark), the relay as it was before it was pipelined;
- **idle latency**: with `run_relay` running in a thread and the outbox empty, `--idle` single events, each
  published in its own transaction; the time from the commit to a consumer receiving it.

The topics are created with `KAFKA_PARTITIONS` (default 3) partitions. Without `KAFKA_BOOTSTRAP_SERVERS` a
throwaway broker is started (`--cluster`: a throwaway three-broker cluster, replication 3, min ISR 2).

    eval "$(bash deploy/postgres.sh start)"
    .venv/bin/python bench/relay.py --rows 100000
    .venv/bin/python bench/relay.py --rows 100000 --cluster
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import threading
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services"))


def _events(count: int, topic_suffix: str):
    from runtime.events import make_events
    start = datetime(2026, 11, 2, 0, 30, tzinfo=UTC)
    items = []
    for n in range(count):
        employee = f"19800101200501{n % 5000:04d}"
        at = start + timedelta(seconds=n)
        items.append((employee, {
            "punch_id": str(uuid.uuid4()), "employee_id": employee, "device_serial": f"BENCH{n % 40:03d}",
            "pin": str(n % 5000), "source": "adms", "at": at, "local_time": (at + timedelta(hours=7)).replace(tzinfo=None),
            "zone": "Asia/Jakarta", "local_date": (at + timedelta(hours=7)).date(), "device_status": 0, "verify": 1}))
    events = make_events("attendance.punch.recorded", items, "bench", start)
    return [dataclasses.replace(e, topic=f"{e.topic}.bench-{topic_suffix}") for e in events]


def _fill(sessions, events) -> None:
    from runtime.messaging import publish
    from runtime.uow import unit_of_work
    for start in range(0, len(events), 5000):
        with unit_of_work(sessions) as session:
            publish(session, *events[start:start + 5000])


def _unsent(sessions) -> int:
    from sqlalchemy import func, select
    with sessions() as session:
        outbox = session.info["metadata"].tables["outbox"]
        return session.execute(select(func.count()).select_from(outbox)).scalar()  # only unsent rows are kept


def _refill(sessions, events) -> None:
    """A fresh outbox holding `events`, none sent (untimed): rows written once and sent once, as in production.
    (Un-marking the rows already sent instead left a second version of every row and the dead first ones for
    the relay's reads and marks to step over, which no running service sees.)"""
    from sqlalchemy import text
    from runtime.uow import unit_of_work
    with unit_of_work(sessions) as session:
        session.execute(text("TRUNCATE outbox"))
    _fill(sessions, events)
    with sessions() as session:
        session.execute(text("ANALYZE outbox"))


def _ceiling(producer, events) -> float:
    records = [(e.topic, e.key, e.to_json()) for e in events]
    t0 = time.perf_counter()
    for topic, key, payload in records:
        producer.send(topic, key=key, value=payload)
    producer.flush(timeout=600)
    return len(records) / (time.perf_counter() - t0)


def _drain_pipelined(sessions, producer) -> float:
    from runtime.relay import Relay
    relay = Relay(sessions, producer, "bench")
    total = 0
    t0 = time.perf_counter()
    try:
        while True:
            marked, idle = relay.step()
            total += marked
            if idle:
                break
    finally:
        relay.close()
    return total / (time.perf_counter() - t0)


def _drain_serial(sessions, producer) -> float:
    from runtime.relay import relay_once
    total = 0
    t0 = time.perf_counter()
    while sent := relay_once(sessions, producer, "bench"):
        total += sent
    return total / (time.perf_counter() - t0)


def _idle_latency(sessions, producer, bootstrap: str, topic_suffix: str, samples: int,
                  replication) -> list[float]:
    """Commit-to-consumer latency of single events with the relay loop idle, in ms."""
    from kafka import KafkaConsumer, TopicPartition
    from runtime.kafka import ensure_topics
    from runtime.relay import run_relay
    events = _events(samples, topic_suffix)
    topic = events[0].topic
    ensure_topics(bootstrap, [topic], with_dead_letters=False, replication=replication)
    stop = threading.Event()
    thread = threading.Thread(target=run_relay, args=(sessions, producer, "bench", stop), daemon=True)
    thread.start()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10)
    deadline = time.monotonic() + 30
    while not (partitions := [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]):
        assert time.monotonic() < deadline, f"topic {topic} not there"
        consumer.poll(timeout_ms=100)
    consumer.assign(partitions)
    consumer.seek_to_end(*partitions)
    for tp in partitions:
        consumer.position(tp)
    time.sleep(1.0)  # the relay is idle, waiting on its LISTEN
    latencies = []
    from runtime.messaging import publish
    from runtime.uow import unit_of_work
    for event in events:
        with unit_of_work(sessions) as session:
            publish(session, event)
        committed = time.perf_counter()
        got = False
        while not got:
            for records in consumer.poll(timeout_ms=50).values():
                got = got or any(r.key == event.key.encode() for r in records)
        latencies.append((time.perf_counter() - committed) * 1000)
        time.sleep(0.3)
    stop.set()
    thread.join(timeout=30)
    consumer.close()
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100000)
    parser.add_argument("--rounds", type=int, default=2, help="ceiling and relay measured alternately, this often")
    parser.add_argument("--serial", action="store_true", help="also drain with relay_once (the serial relay)")
    parser.add_argument("--idle", type=int, default=20, help="single events for the idle latency (0: skip)")
    parser.add_argument("--cluster", action="store_true", help="a throwaway three-broker cluster")
    parser.add_argument("--linger", type=int, default=None)
    parser.add_argument("--batch-kb", type=int, default=None)
    parser.add_argument("--compression", default=None, help="none, lz4, gzip, snappy, zstd")
    args = parser.parse_args()

    from sqlalchemy import MetaData, create_engine, text
    from sqlalchemy.engine import make_url
    from kafka.record import util as record_util
    from runtime.db import make_engine, make_session_factory
    from runtime.kafka import PRODUCER_SETTINGS, ensure_topics, make_producer, topic_partitions, topic_settings
    from runtime.messaging import add_messaging_tables
    from attendance_ingest import throwaway_kafka
    from month_close import durability

    overrides = {}
    if args.linger is not None:
        overrides["linger_ms"] = args.linger
    if args.batch_kb is not None:
        overrides["batch_size"] = args.batch_kb * 1024
    if args.compression is not None:
        overrides["compression_type"] = None if args.compression == "none" else args.compression
    settings = dict(PRODUCER_SETTINGS, **overrides)

    server_url = os.environ["TEST_DATABASE_URL"]
    database = f"bench_relay_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    url = make_url(server_url).set(database=database).render_as_string(hide_password=False)
    engine = make_engine(url)
    metadata = MetaData()
    add_messaging_tables(metadata)
    metadata.create_all(engine)
    sessions = make_session_factory(engine, metadata)

    kafka = ExitStack()  # a throwaway broker (or cluster) when none is named
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    replication = None
    if not bootstrap:
        bootstrap, kafka_env = kafka.enter_context(throwaway_kafka(3 if args.cluster else 1))
        replication = topic_settings(kafka_env)
    suffix = uuid.uuid4().hex[:8]
    try:
        events = _events(args.rows, suffix)
        topic = events[0].topic
        ensure_topics(bootstrap, [topic], with_dead_letters=False, replication=replication)
        t0 = time.perf_counter()
        _fill(sessions, events)
        fill_s = time.perf_counter() - t0
        producer = make_producer(bootstrap, "bench-relay", **overrides)
        producer.send(topic, key="warm", value=b"{}").get(timeout=60)
        load = os.getloadavg()[0]
        ceilings, pipelined, serial = [], [], []
        for _ in range(args.rounds):
            ceilings.append(_ceiling(producer, events))
            _refill(sessions, events)
            pipelined.append(_drain_pipelined(sessions, producer))
            if args.serial:
                _refill(sessions, events)
                serial.append(_drain_serial(sessions, producer))
            assert _unsent(sessions) == 0
        latencies = sorted(_idle_latency(sessions, producer, bootstrap, suffix + "i", args.idle, replication)) \
            if args.idle else []
        producer.close()
        load_after = os.getloadavg()[0]
        c_extension = record_util.crc32c_c is not None
        print(f"rows {args.rows}, partitions {topic_partitions()}, "
              f"{'3-broker cluster' if args.cluster else 'one broker'}, {durability(server_url)}, "
              f"crc32c C extension: {c_extension}")
        print(f"producer: linger_ms={settings['linger_ms']} batch_size={settings['batch_size']} "
              f"compression={settings['compression_type']}")
        print(f"fill: {args.rows / fill_s:,.0f} rows/s; load average {load:.2f} -> {load_after:.2f}")
        for n in range(args.rounds):
            line = f"round {n + 1}: ceiling {ceilings[n]:,.0f}/s, relay {pipelined[n]:,.0f}/s " \
                   f"({pipelined[n] / ceilings[n]:.2f} of the ceiling)"
            if serial:
                line += f", serial relay {serial[n]:,.0f}/s"
            print(line)
        print(f"relay / ceiling, mean: {statistics.mean(pipelined) / statistics.mean(ceilings):.2f}")
        if latencies:
            p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
            print(f"idle commit -> consumed, {len(latencies)} events: p50 {p(0.5):.1f} ms, p90 {p(0.9):.1f} ms, "
                  f"max {latencies[-1]:.1f} ms")
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
        kafka.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
