"""Benchmark: how fast the outbox relay drains a backlog, against the raw producer's ceiling in the same run.

Fills a fresh PostgreSQL outbox with `--rows` real `attendance.punch.recorded` events (keyed by employee, 5,000
employees), then, in the same process (the outbox emptied and filled again, untimed, before each drain):
- **ceiling**: one kafka-python producer with the platform's settings (`runtime.kafka.make_producer`, or the
  `--linger`, `--batch-kb`, `--compression` given) sends the same records (topic, key, payload) with `send` and
  flushes; and, where the producer has it, with `send_all` a read's 4,000 rows at a time, the relay's way
  (**keyed ceiling**; `send_keyed` one by one, for a producer from before `send_all`);
- **relay**: the pipelined relay (`runtime.relay.Relay`, the loop `run_relay` runs) drains the outbox: read,
  send, mark sent as acknowledged, until nothing is unsent;
- **serial** (`--serial`): the same outbox drained by `relay_once` in a loop (read 500, send, flush, wait for
  every acknowledgement, mark), the relay as it was before it was pipelined;
- **idle latency**: with `run_relay` running in a thread and the outbox empty, `--idle` single events, each
  published in its own transaction; the time from the commit to a consumer receiving it;
- **concurrent inserts** (`--insert-rate R`): with `run_relay` running in a thread, a second process publishes
  events in transactions of `--insert-batch` (128, as the ingest job's `runtime.messaging.publish`) at R rows/s
  for `--insert-seconds`, then the bench waits until the outbox is empty. Each drain (the backlog's too) reports
  the relay's CPU per row: its process (Python, with the producer's thread) and its PostgreSQL backends (every
  backend of the bench's database but the inserter's and the bench's own look-ups), from `/proc`.

After the backlog's rounds it prints a **fingerprint** of every record on the bench's topic (each partition's records
in offset order, each as its key and its event's place in the bench's events): the same fingerprint before and after
a change means the same records landed on the same partitions in the same order (the ceilings' sends included).

The topics are created with `KAFKA_PARTITIONS` (default 3) partitions. Without `KAFKA_BOOTSTRAP_SERVERS` a
throwaway broker is started (`--cluster`: a throwaway three-broker cluster, replication 3, min ISR 2).

    eval "$(bash deploy/postgres.sh start)"
    .venv/bin/python bench/relay.py --rows 100000
    .venv/bin/python bench/relay.py --rows 100000 --cluster
    .venv/bin/python bench/relay.py --rows 60000 --rounds 1 --idle 0 --insert-rate 8000 --insert-seconds 30
"""
from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import os
import resource
import statistics
import sys
import threading
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services"))


INSERTER = "bench-relay-insert"  # the application names of the inserter's backends and of the bench's look-ups,
WATCHER = "bench-relay-watch"  # not counted as the relay's


def _events(count: int, topic_suffix: str, first: int = 0):
    from runtime.events import make_events
    start = datetime(2026, 11, 2, 0, 30, tzinfo=UTC)
    items = []
    for n in range(first, first + count):
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


class _RelayCpu:
    """CPU seconds used by this process (the relay and its producer's thread) and by the relay's PostgreSQL backends
    (every client backend of `database` but the inserter's and the watcher's; one born in between counted in full)."""

    def __init__(self, watch, database: str):
        self.watch, self.database = watch, database
        self.names: dict[int, str] = {}  # the backends seen, by pid: their application names
        self.by_name: dict[str, float] = {}  # after `used`: the backends' CPU seconds by application name
        self.start = self._look()

    def _look(self) -> tuple[float, dict[int, float]]:
        from sqlalchemy import text
        from attendance_ingest import _cpu_seconds
        usage = resource.getrusage(resource.RUSAGE_SELF)
        with self.watch.connect() as conn:
            backends = conn.execute(text("SELECT pid, application_name FROM pg_stat_activity WHERE datname = :db AND "
                                         "backend_type = 'client backend' AND application_name NOT IN (:inserter, "
                                         ":watcher)"), {"db": self.database, "inserter": INSERTER, "watcher": WATCHER})
            self.names.update(dict(backends.all()))
        return usage.ru_utime + usage.ru_stime, {pid: _cpu_seconds([pid]) for pid in self.names}

    def used(self) -> tuple[float, float]:
        """(process, backends) CPU seconds since this was made; `by_name` holds the backends' by application name."""
        (process0, backends0), (process1, backends1) = self.start, self._look()
        for pid, seconds in backends1.items():
            if pid in backends0 and not seconds:  # ended in between: what it used is not known
                continue
            name = self.names[pid] or "pool"
            self.by_name[name] = self.by_name.get(name, 0.0) + seconds - backends0.get(pid, 0.0)
        return process1 - process0, sum(self.by_name.values())


def _ceiling(producer, events, keyed: bool = False) -> float:
    records = [(e.topic, e.key, e.to_json()) for e in events]
    t0 = time.perf_counter()
    if keyed and hasattr(producer, "send_all"):  # a read's rows at a time, as the relay hands them over
        for start in range(0, len(records), 4000):
            producer.send_all(*zip(*records[start:start + 4000]))
    elif keyed:  # (a producer from before `send_all`)
        for topic, key, payload in records:
            producer.send_keyed(topic, key, payload)
    else:
        for topic, key, payload in records:
            producer.send(topic, key=key, value=payload)
    producer.flush(timeout=600)
    return len(records) / (time.perf_counter() - t0)


def _fingerprint(bootstrap: str, topic: str, events, expected: int) -> tuple[str, int, int]:
    """(a hash of every partition's records, in offset order, each as its key and its event's place in `events` (-1
    for any other), how many were read, how many were not of `events`): the same records on the same partitions in
    the same order give the same hash."""
    import hashlib
    from kafka import KafkaConsumer, TopicPartition
    place = {e.to_json().encode(): n for n, e in enumerate(events)}
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, max_poll_records=10000)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        found = {tp.partition: [] for tp in partitions}
        read, deadline = 0, time.monotonic() + 300
        while read < expected and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=1000).items():
                found[tp.partition].extend((r.key, place.get(r.value, -1)) for r in records)
                read += len(records)
    finally:
        consumer.close()
    unknown = sum(n == -1 for records in found.values() for _, n in records)
    return hashlib.sha256(repr(sorted(found.items())).encode()).hexdigest()[:16], read, unknown


def _drain_pipelined(sessions, producer, watch, database: str) -> tuple[float, tuple[float, float]]:
    """(rows/s, (process, backends) CPU µs per row) of the relay draining the outbox."""
    from runtime.relay import Relay
    relay = Relay(sessions, producer, "bench")
    total = 0
    cpu = _RelayCpu(watch, database)
    t0 = time.perf_counter()
    try:
        while True:
            marked, idle = relay.step()
            total += marked
            if idle:
                break
    finally:
        relay.close()
    elapsed = time.perf_counter() - t0
    return total / elapsed, tuple(s * 1e6 / total for s in cpu.used())


def _insert_steadily(url: str, topic_suffix: str, rate: float, seconds: float, batch: int, go, inserted) -> None:
    """(A process of its own.) Publish `batch` events per transaction at `rate` rows/s for `seconds` once `go` is
    set, as the ingest job does; count them in `inserted`."""
    from sqlalchemy import MetaData
    from runtime.db import make_engine, make_session_factory
    from runtime.messaging import add_messaging_tables, publish
    from runtime.uow import unit_of_work
    from attendance_ingest import _named
    engine = make_engine(_named(url, INSERTER))
    metadata = MetaData()
    add_messaging_tables(metadata)
    sessions = make_session_factory(engine, metadata)
    go.wait()
    t0 = time.monotonic()
    n = 0
    while (now := time.monotonic() - t0) < seconds:
        due = n / rate - now
        if due > 0:
            time.sleep(due)
        events = _events(batch, topic_suffix, first=n)
        with unit_of_work(sessions) as session:
            publish(session, *events)
        n += batch
        inserted.value = n
    engine.dispose()


def _index_reads(watch) -> tuple[int, int]:
    """(scans, entries read) of the outbox's primary key so far: the entries of deleted rows stepped over count."""
    from sqlalchemy import text
    with watch.connect() as conn:
        return tuple(conn.execute(text("SELECT idx_scan, idx_tup_read FROM pg_stat_user_indexes "
                                       "WHERE indexrelname = 'outbox_pkey'")).one())


def _concurrent(sessions, producer, url: str, watch, database: str, topic_suffix: str, args) -> dict:
    """The relay loop (`run_relay`) while another process inserts at `args.insert_rate` rows/s, until the outbox
    is empty after the inserts end: rows, seconds, backlog at most, and CPU µs per row (process, backends)."""
    from sqlalchemy import text
    from runtime.relay import run_relay
    if args.backlog:  # unsent rows already waiting when the inserts begin, as when a burst has outrun the relay
        _fill(sessions, _events(args.backlog, topic_suffix))
    spawn = multiprocessing.get_context("spawn")
    go, inserted = spawn.Event(), spawn.Value("q", 0)
    inserter = spawn.Process(target=_insert_steadily, args=(url, topic_suffix, args.insert_rate, args.insert_seconds,
                                                            args.insert_batch, go, inserted))
    inserter.start()
    time.sleep(3.0)  # the inserter connected
    index_reads = _index_reads(watch)
    cpu = _RelayCpu(watch, database)
    t0 = time.perf_counter()
    stop = threading.Event()
    thread = threading.Thread(target=run_relay, args=(sessions, producer, "bench", stop), daemon=True)
    thread.start()
    go.set()
    most = 0
    while True:
        time.sleep(0.5)
        with watch.connect() as conn:
            waiting = conn.execute(text("SELECT count(*) FROM outbox")).scalar()
        most = max(most, waiting)
        if not inserter.is_alive() and waiting == 0:
            break
    elapsed = time.perf_counter() - t0
    process, backends = cpu.used()
    by_name = {name: seconds * 1e6 / (inserted.value + args.backlog) for name, seconds in sorted(cpu.by_name.items())}
    stop.set()
    thread.join(timeout=30)
    inserter.join()
    rows = inserted.value + args.backlog
    time.sleep(1.0)  # the backends' statistics reach the views within a second
    with watch.connect() as conn:
        vacuums = conn.execute(text("SELECT autovacuum_count FROM pg_stat_user_tables WHERE relname = 'outbox'")).scalar()
    scans, entries = (end - start for start, end in zip(index_reads, _index_reads(watch)))
    return {"rows": rows, "seconds": elapsed, "most": most, "process": process * 1e6 / rows,
            "backends": backends * 1e6 / rows, "autovacuums": vacuums, "by_name": by_name,
            "scans": scans, "entries": entries}


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
    parser.add_argument("--insert-rate", type=float, default=0, help="rows/s inserted concurrently (0: skip)")
    parser.add_argument("--insert-seconds", type=float, default=30)
    parser.add_argument("--insert-batch", type=int, default=128)
    parser.add_argument("--backlog", type=int, default=0, help="unsent rows waiting when the inserts begin")
    args = parser.parse_args()

    from sqlalchemy import MetaData, create_engine, text
    from sqlalchemy.engine import make_url
    from kafka.record import util as record_util
    from runtime.db import make_engine, make_session_factory
    from runtime.kafka import PRODUCER_SETTINGS, ensure_topics, make_producer, topic_partitions, topic_settings
    from runtime.messaging import add_messaging_tables
    from runtime.uow import unit_of_work
    from attendance_ingest import _named, throwaway_kafka
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
    watch = create_engine(_named(url, WATCHER))
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
        ceilings, keyed, pipelined, serial, cpus = [], [], [], [], []
        for _ in range(args.rounds):
            ceilings.append(_ceiling(producer, events))
            if hasattr(producer, "send_all") or hasattr(producer, "send_keyed"):  # (the bench compares trees)
                keyed.append(_ceiling(producer, events, keyed=True))
            _refill(sessions, events)
            rate, cpu = _drain_pipelined(sessions, producer, watch, database)
            pipelined.append(rate)
            cpus.append(cpu)
            if args.serial:
                _refill(sessions, events)
                serial.append(_drain_serial(sessions, producer))
            assert _unsent(sessions) == 0
        fingerprint = _fingerprint(bootstrap, topic, events, 1 + args.rows * (
            len(ceilings) + len(keyed) + len(pipelined) + len(serial)))
        concurrent = None
        if args.insert_rate:
            with unit_of_work(sessions) as session:
                session.execute(text("TRUNCATE outbox"))
            concurrent = _concurrent(sessions, producer, url, watch, database, suffix, args)
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
            line = f"round {n + 1}: ceiling {ceilings[n]:,.0f}/s" + \
                (f", keyed ceiling {keyed[n]:,.0f}/s" if keyed else "") + \
                f", relay {pipelined[n]:,.0f}/s ({pipelined[n] / ceilings[n]:.2f} of the ceiling" + \
                (f", {pipelined[n] / keyed[n]:.2f} of the keyed one" if keyed else "") + \
                f"); relay CPU per row: process {cpus[n][0]:.1f} µs, PostgreSQL {cpus[n][1]:.1f} µs"
            if serial:
                line += f", serial relay {serial[n]:,.0f}/s"
            print(line)
        print(f"relay / ceiling, mean: {statistics.mean(pipelined) / statistics.mean(ceilings):.2f}"
              + (f"; relay / keyed ceiling, mean: {statistics.mean(pipelined) / statistics.mean(keyed):.2f}" if keyed else ""))
        print(f"fingerprint of the topic's records (every partition's, in offset order; the ceilings' and the "
              f"relay's rounds): {fingerprint[0]}, {fingerprint[1]:,} records, {fingerprint[2]} not the bench's")
        if concurrent:
            c = concurrent
            print(f"concurrent inserts after a backlog of {args.backlog:,} rows, {args.insert_rate:,.0f} rows/s asked in transactions of {args.insert_batch} "
                  f"for {args.insert_seconds:.0f} s: {c['rows']:,} rows in all ({(c['rows'] - args.backlog) / args.insert_seconds:,.0f}/s "
                  f"inserted), "
                  f"outbox empty after {c['seconds']:.1f} s, at most {c['most']:,} waiting; relay CPU per row: "
                  f"process {c['process']:.1f} µs, PostgreSQL {c['backends']:.1f} µs; outbox autovacuums "
                  f"{c['autovacuums']}; primary key: {c['scans']:,} scans, {c['entries'] / c['rows']:.1f} entries read "
                  f"per row; PostgreSQL µs per row by connection: "
                  + ", ".join(f"{name} {us:.1f}" for name, us in c["by_name"].items()))
        if latencies:
            p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
            print(f"idle commit -> consumed, {len(latencies)} events: p50 {p(0.5):.1f} ms, p90 {p(0.9):.1f} ms, "
                  f"max {latencies[-1]:.1f} ms")
    finally:
        engine.dispose()
        watch.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
        kafka.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
