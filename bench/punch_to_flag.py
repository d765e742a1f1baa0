"""Benchmark: from a device's punch to a visible cross-check flag, and what the consumers on that path apply.

Two parts (both by default; `--part apply` or `--part stack` for one):

- **apply**: the path's two builds alone, in process, on PostgreSQL (fresh attendance and scoring databases):
  `--events` punches of `--employees` employees (a clock-in and a clock-out per employee and day, in time order
  as devices send them) stored `--ingest-batch` per transaction with the days they belong to, as the ingest job
  stores them (`punches.store_punches`: the upload's parsing aside, `bench/attendance_ingest.py --part job`
  measures the whole job); then the `attendance.day.built` events that made, parsed from their wire form and
  applied by scoring's real consumer path (`EventConsumer.handle_records`, inbox included) in polls of
  `max_poll_records` (4,000). Punches and events per second (no Kafka hop: `bench/relay.py` measures the relay).
  With `--kafka`, the day events are first produced to a throwaway broker's topics and polled back as deployed
  (`make_consumer`, `EventConsumer.poll_once`, offsets committed), so kafka-python's fetch and decoding of each
  record count too.
- **stack**: the whole path running as in production: a Kafka broker (`--brokers 3`: a three-broker cluster,
  every topic replicated three times, `min.insync.replicas=2`), the attendance service under gunicorn, its
  ingest job (`--ingest-processes`: it stores the punches and builds their days) and relay, and `--instances`
  processes of each of the attendance and scoring consumers (`kinerja work|relay|consume`; each service's
  instances in one group share the `--partitions` of its topics). Devices
  push `--rate` punches per second for `--seconds` (reusing `bench/attendance_ingest.py`'s devices; a burst is
  the same with a higher rate), and a probe device posts, every `--probe-every` seconds, a fresh employee's
  clock-in and late clock-out (overtime with no activity logged: scoring raises `overtime_without_activity`).
  For each probe: acknowledged -> punch stored -> day built -> flag raised (row timestamps, one clock),
  p50/p90/p99 per hop; probes before the load give the idle latency. Once a second from the load's start: what
  waits at each hop (uploads, unsent outbox rows, days; reported every 10 s) and each group's committed offsets,
  credited to the instance holding each partition. After the load: how long until nothing waits anywhere
  ("drained N s after the load ended", or what still waits after `--drain-timeout`), each consumer's events
  per second while it had work waiting, per instance, and the CPU seconds of every process and of the
  PostgreSQL backends serving it.

    eval "$(bash deploy/postgres.sh start)"
    .venv/bin/python bench/punch_to_flag.py --part apply --events 20000
    .venv/bin/python bench/punch_to_flag.py --part apply --events 20000 --kafka
    .venv/bin/python bench/punch_to_flag.py --part stack --rate 2000 --seconds 60
    .venv/bin/python bench/punch_to_flag.py --part stack --rate 2000 --seconds 60 --instances 2 --partitions 6
    .venv/bin/python bench/punch_to_flag.py --part stack --rate 10000 --seconds 60  # the burst
    .venv/bin/python bench/punch_to_flag.py --part stack --rate 2000 --seconds 60 --brokers 3
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "services"))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import event, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from attendance_ingest import (BATCH, _bodies, bench_nip, _children, _cpu_seconds, _device_worker, _drop_database,  # noqa: E402
                               _free_port, _named, _percentile, _seed, _wait_ready, gunicorn_command,
                               throwaway_kafka)

WIB = 7  # Asia/Jakarta, UTC+7
FIRST_NIP = 198001012005011000


def _database(pg: str, service: str) -> str:
    from runtime.migrate import upgrade
    url = make_url(pg).set(database=f"bench_p2f_{service}_{uuid.uuid4().hex[:8]}").render_as_string(
        hide_password=False)
    upgrade(service, url)
    return url


def _seed_scoring(url: str, nips: list[str]) -> None:
    from runtime.db import make_engine, make_session_factory
    from scoring import tables
    engine = make_engine(url)
    with make_session_factory(engine, tables.metadata).begin() as session:
        now = datetime.now(UTC)
        for start in range(0, len(nips), 5000):
            session.execute(insert(tables.employees), [
                {"employee_id": nip, "unit_id": "bench", "position_id": None, "status": "PNS", "zone": "Asia/Jakarta",
                 "active": True, "updated_at": now} for nip in nips[start:start + 5000]])
    engine.dispose()


class _Record:
    """What a Kafka poll hands the consumer: topic, partition, offset, key, value."""

    def __init__(self, topic, offset, key, value):
        self.topic, self.partition, self.offset, self.key, self.value = topic, 0, offset, key.encode(), value


def _apply(name: str, url: str, metadata, handlers, wires: list[tuple[str, str, str]],
           bootstrap: str | None = None) -> dict:
    """Apply wire events through the service's real consumer path, in polls of `max_poll_records`: events per
    second, and the CPU per event of the consumer's own Python and of the PostgreSQL backend serving it (which
    the machine's other work disturbs much less than the wall clock). With `bootstrap` (a broker), the events
    are first produced to their topics (not timed) and the consumer polls them as deployed (`make_consumer`,
    `EventConsumer.poll_once`: the fetch, kafka-python's decoding of each record and the offset commits
    included; its Python CPU counts kafka-python's network thread too); without, each poll's records are handed
    to `handle_records` directly."""
    from runtime.kafka import MAX_POLL_RECORDS as POLL
    from runtime.consumer import EventConsumer, collect_for_polls
    from runtime.db import make_engine, make_session_factory
    engine = make_engine(url)
    kafka = None if bootstrap is None else _filled_consumer(name, bootstrap, wires)
    consumer = EventConsumer(name, kafka, None, make_session_factory(engine, metadata), handlers)
    collect_for_polls()  # the collector as `EventConsumer.run` sets it
    records = [_Record(topic, n, key, value) for n, (topic, key, value) in enumerate(wires)]
    backends = []  # every connection's backend process

    @event.listens_for(engine, "connect")
    def _backend(dbapi_connection, _record):
        with dbapi_connection.cursor() as cursor:
            backends.append(cursor.execute("SELECT pg_backend_pid()").fetchone()[0])

    with engine.connect():
        pass  # the connection the consumer's sessions will take from the pool, made before the clock starts
    backend_cpu = {pid: _cpu_seconds([pid]) for pid in backends}
    cpu, t0 = time.process_time(), time.perf_counter()
    if kafka is None:
        for start in range(0, len(records), POLL):
            consumer.handle_records(records[start:start + POLL])
    else:
        polled = 0
        while polled < len(records):
            polled += consumer.poll_once(timeout_ms=1000)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu
    backend_cpu = sum(_cpu_seconds([pid]) - backend_cpu.get(pid, 0.0) for pid in backends)
    if kafka is not None:
        kafka.close()
    engine.dispose()
    per_event = 1e6 / len(records)
    return {"per_s": round(len(records) / elapsed), "cpu_us_per_event": {
        "python": round(cpu * per_event, 1), "postgres": round(backend_cpu * per_event, 1)}}


def _filled_consumer(name: str, bootstrap: str, wires: list[tuple[str, str, str]]):
    """A consumer (`runtime.kafka.make_consumer`, group `bench-<name>`) assigned every partition of the wires'
    topics from their beginning, once the wires are on them (keyed as the relay sends them)."""
    from kafka.structs import TopicPartition
    from runtime.kafka import ensure_topics, make_consumer, make_producer
    topics = sorted({topic for topic, _, _ in wires})
    ensure_topics(bootstrap, topics, with_dead_letters=False)
    producer = make_producer(bootstrap, f"bench-{name}")
    for topic, key, value in wires:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()
    kafka = make_consumer(bootstrap, f"bench-{name}", f"{name}-consumer")
    kafka.assign([TopicPartition(topic, p) for topic in topics for p in sorted(kafka.partitions_for_topic(topic))])
    kafka.seek_to_beginning()
    return kafka


def _punch_rows(employees: int, events: int) -> list[dict]:
    """`events` punches of `employees` employees: each one's clock-in (06:30-07:50) and clock-out (16:00-18:30) on
    consecutive working days, in time order across employees (as devices send them)."""
    nips = [str(FIRST_NIP + n) for n in range(employees)]
    rows = []
    day = date(2026, 11, 2)  # a Monday
    while len(rows) < events:
        if day.weekday() < 5:
            for minute_of in (lambda n: 6 * 60 + 30 + n % 80, lambda n: 16 * 60 + n % 150):
                for n, nip in enumerate(nips):
                    local = datetime(day.year, day.month, day.day) + timedelta(minutes=minute_of(n), seconds=n % 60)
                    rows.append({"device_serial": "BENCH", "pin": str(n), "sequence": len(rows) + 1,
                                 "employee_id": nip, "source": "adms", "origin": None,
                                 "at": (local - timedelta(hours=WIB)).replace(tzinfo=UTC), "local_time": local,
                                 "zone": "Asia/Jakarta", "local_date": day, "device_status": 0, "verify": 1,
                                 "upload_id": None, "recorded_at": datetime.now(UTC)})
        day += timedelta(days=1)
    return sorted(rows[:events], key=lambda r: r["at"])


def _build_at_ingest(url: str, employees: int, rows: list[dict], batch: int) -> dict:
    """The attendance half of the path: the punches stored `batch` at a time, each batch in one transaction that
    also builds the days they belong to, as the ingest job does (`punches.store_punches`: one insert, then
    `build_days_of`). Punches per second, and the CPU per punch of this process and of its PostgreSQL backend."""
    from attendance import tables
    from attendance.app import build_context
    from attendance.handlers.punches import store_punches
    from runtime.config import Settings
    from runtime.consumer import collect_for_polls
    from runtime.db import make_engine, make_session_factory
    engine = make_engine(url)
    sessions = make_session_factory(engine, tables.metadata)
    with sessions.begin() as session:
        _attendance_employees(session, [str(FIRST_NIP + n) for n in range(employees)])
    with engine.connect() as conn:  # analysed as the autovacuum would have by then
        conn.execute(text("ANALYZE"))
        conn.commit()
    config = build_context(Settings.from_env("attendance", dict(os.environ, ATTENDANCE_DATABASE_URL=url)))
    with engine.connect() as conn:  # the connection the sessions will take from the pool
        backend = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    collect_for_polls()  # the collector as `jobs.run` sets it
    backend0, cpu, t0 = _cpu_seconds([backend]), time.process_time(), time.perf_counter()
    for start in range(0, len(rows), batch):
        with sessions.begin() as session:
            store_punches(session, rows[start:start + batch], config)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu
    backend_cpu = _cpu_seconds([backend]) - backend0
    engine.dispose()
    per_punch = 1e6 / len(rows)
    return {"per_s": round(len(rows) / elapsed), "cpu_us_per_punch": {
        "python": round(cpu * per_punch, 1), "postgres": round(backend_cpu * per_punch, 1)}}


def _attendance_fingerprint(conn, days: list[tuple[str, str, str]]) -> dict:
    """What attendance's consumer produced, to compare two versions of its code: a hash of the stored days (the
    content as the text stored) and one of the published days (each event without its id and time, sorted, so
    the order they were published in does not count)."""
    stored = hashlib.sha256()
    for r in conn.execute(text("SELECT employee_id, local_date, version, status, correction, content::text AS content "
                               "FROM days ORDER BY employee_id, local_date")):
        stored.update(f"{r.employee_id}|{r.local_date}|{r.version}|{r.status}|{r.correction}|{r.content}\n".encode())
    events = []
    for topic, key, payload in days:
        doc = json.loads(payload)
        doc.pop("event_id"), doc.pop("occurred_at")
        events.append(f"{topic}|{key}|{json.dumps(doc, sort_keys=True)}")
    published = hashlib.sha256("\n".join(sorted(events)).encode())
    return {"days": stored.hexdigest()[:16], "events": published.hexdigest()[:16]}


def part_apply(pg: str, employees: int, events: int, keep: bool, bootstrap: str | None = None,
               batch: int = 6400) -> dict:
    """The attendance half (punches stored and their days built, `batch` a transaction) and scoring's consumer
    applying the day events that made, in process (scoring's through `bootstrap`'s topics when given)."""
    from runtime.config import Settings
    from scoring import tables as scoring_tables
    from scoring.consumers import handlers as scoring_handlers
    attendance_url, scoring_url = _database(pg, "attendance"), _database(pg, "scoring")
    try:
        attendance = _build_at_ingest(attendance_url, employees, _punch_rows(employees, events), batch)
        _seed_scoring(scoring_url, [str(FIRST_NIP + n) for n in range(employees)])
        with _engine(attendance_url) as conn:
            days = [(r.topic, r.key, r.payload) for r in conn.execute(text(
                "SELECT topic, key, payload FROM outbox WHERE type = 'attendance.day.built' ORDER BY id"))]
            fingerprint = _attendance_fingerprint(conn, days)
        settings = Settings.from_env("scoring", dict(os.environ, SCORING_DATABASE_URL=scoring_url))
        scoring = _apply("scoring", scoring_url, scoring_tables.metadata, scoring_handlers(settings), days,
                         bootstrap)
        with _engine(scoring_url) as conn:
            flags = conn.execute(text("SELECT count(*) FROM flags")).scalar()
        return {"punches": events, "employees": employees, "punches_per_transaction": batch,
                "attendance_punches_per_s": attendance["per_s"],
                "attendance_cpu_us_per_punch": attendance["cpu_us_per_punch"], "attendance_fingerprint": fingerprint,
                "day_events": len(days),
                "scoring_events_per_s": scoring["per_s"], "scoring_cpu_us_per_event": scoring["cpu_us_per_event"],
                "flags_raised": flags}
    finally:
        if not keep:
            _drop_database(attendance_url)
            _drop_database(scoring_url)

PROBE_SERIAL = "PROBE00001"
PROBE_DATE = date(2025, 1, 7)  # a Tuesday; the devices' log starts on Monday 2025-01-06
PROBE_FIRST_NIP = 197501012000011000


def _attendance_employees(session, nips: list[str]) -> None:
    """The employees in attendance's projection, as the directory's events would put them."""
    from attendance import tables
    session.execute(insert(tables.employees), [
        {"employee_id": nip, "unit_id": "bench", "zone": "Asia/Jakarta", "schedule_id": None, "active": True}
        for nip in nips])


def _seed_employees(urls: dict[str, str], nips: list[str]) -> None:
    """The employees in attendance's and scoring's projections, as the directory's events would put them; and the
    dates up to tomorrow marked closed, so the job does not build every employee's day for the last finished
    date while the bench measures (it does that once a night; with 300,000 employees it would be the run)."""
    from attendance import tables as attendance_tables
    from runtime.db import make_engine, make_session_factory
    engine = make_engine(urls["attendance"])
    with make_session_factory(engine, attendance_tables.metadata).begin() as session:
        _attendance_employees(session, nips)
        session.execute(insert(attendance_tables.closed_dates).values(
            local_date=date.today() + timedelta(days=1), closed_at=datetime.now(UTC), employees=len(nips)))
    engine.dispose()
    _seed_scoring(urls["scoring"], nips)


def _post(port: int, serial: str, body: bytes) -> float:
    """Post one upload; the wall-clock time its acknowledgement arrived."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", f"/iclock/cdata?SN={serial}&table=ATTLOG", body=body,
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    response = conn.getresponse()
    response.read()
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"upload refused: {response.status}")
    return time.time()


def _probe_body(pin: int) -> bytes:
    """A clock-in at 07:25 and a clock-out at 18:30: 150 minutes of overtime that no activity covers."""
    return (f"{pin}\t{PROBE_DATE} 07:25:00\t0\t1\t0\t0\t0\t0\t0\t0\t{2 * pin}\r\n"
            f"{pin}\t{PROBE_DATE} 18:30:00\t0\t1\t0\t0\t0\t0\t0\t0\t{2 * pin + 1}\r\n").encode()


def _hops(urls: dict[str, str], acked: dict[int, float]) -> list[dict]:
    """Per probe: seconds from the acknowledgement to the stored punches, the day built, the flag raised."""
    nips = {str(PROBE_FIRST_NIP + pin): pin for pin in acked}
    with _engine(urls["attendance"]) as conn:
        stored = dict(conn.execute(text("SELECT employee_id, max(recorded_at) FROM punches WHERE employee_id = "
                                        "ANY(:n) GROUP BY employee_id"), {"n": list(nips)}).all())
        built = dict(conn.execute(text("SELECT employee_id, built_at FROM days WHERE employee_id = ANY(:n) AND "
                                       "local_date = :d"), {"n": list(nips), "d": PROBE_DATE}).all())
    with _engine(urls["scoring"]) as conn:
        raised = dict(conn.execute(text("SELECT employee_id, min(raised_at) FROM flags WHERE employee_id = ANY(:n) "
                                        "AND kind = 'overtime_without_activity' GROUP BY employee_id"),
                                   {"n": list(nips)}).all())
    out = []
    for nip, pin in nips.items():
        hop = {"acked": acked[pin]}
        for name, found in (("stored", stored), ("day_built", built), ("flag", raised)):
            hop[name] = found[nip].timestamp() - acked[pin] if nip in found else None
        out.append(hop)
    return out


def _summary(hops: list[dict]) -> dict:
    out = {"probes": len(hops)}
    for name in ("stored", "day_built", "flag"):
        values = sorted(h[name] for h in hops if h[name] is not None)
        out[name] = {"seen": len(values), "p50_ms": _percentile(values, 0.5) if values else None,
                     "p90_ms": _percentile(values, 0.9) if values else None,
                     "p99_ms": _percentile(values, 0.99) if values else None,
                     "max_ms": round(values[-1] * 1000, 1) if values else None}
    return out


def _consumed(connections: dict) -> dict[str, int]:
    """Events produced and applied along the path so far, counted exactly (every punch, day and inbox row read: a
    look costs a fraction of a second of PostgreSQL's CPU at a burst's sizes). The outbox keeps only unsent rows, so
    what was produced is counted from what each event stands for: one day event per version of a built day (an
    unchanged rebuild keeps its version and publishes nothing). A punch's day is built in the transaction that
    stores it. `connections`: an open connection to each of the attendance and scoring databases."""
    pending, unsent, punches, days = connections["attendance"].execute(text(
        "SELECT (SELECT count(*) FROM raw_uploads WHERE processed_at IS NULL),"
        " (SELECT count(*) FROM outbox),"
        " (SELECT count(*) FROM punches),"
        " (SELECT coalesce(sum(version), 0) FROM days)")).one()
    scored = connections["scoring"].execute(
        text("SELECT count(*) FROM inbox WHERE type = 'attendance.day.built'")).scalar()
    return {"pending_uploads": pending, "unsent": unsent, "punches": punches, "day_events": days,
            "day_events_applied": scored}


def _consumed_once(urls: dict[str, str]) -> dict[str, int]:
    """`_consumed` on connections of its own."""
    with _engine(urls["attendance"]) as attendance, _engine(urls["scoring"]) as scoring:
        return _consumed({"attendance": attendance, "scoring": scoring})


def _behind(counts: dict[str, int]) -> dict[str, int]:
    """What is waiting at each hop: uploads not yet stored as punches (with their days), attendance's outbox rows not
    yet sent by its relay, days not yet applied by scoring."""
    return {"uploads": counts["pending_uploads"], "unsent": counts["unsent"],
            "day_events": counts["day_events"] - counts["day_events_applied"]}


def _wait_flag(urls: dict[str, str], pin: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with _engine(urls["scoring"]) as conn:
            if conn.execute(text("SELECT 1 FROM flags WHERE employee_id = :n"),
                            {"n": str(PROBE_FIRST_NIP + pin)}).first():
                return
        time.sleep(0.02)


MEASURED_TOPIC = {"scoring": "attendance.days"}  # the consumers' hot input (attendance's is the ingest job's uploads)


class _Watch:
    """While running, once a second, a quick look: whether anything waits anywhere (`_quiet`: an upload not yet
    stored, an outbox row not yet sent, an event in Kafka its consumer group has not committed), and for each
    consumer group the offsets it committed on its hot topic (MEASURED_TOPIC), each advance credited to the group
    member (consumer instance) holding that partition at the look: how the instances shared the work. Every
    `exact_every` seconds, and at the end, an exact count of what waits at each hop (`_consumed`).

    The watch shares the two cores with what it watches, so it looks cheaply: its own two connections, kept open
    in autocommit (no transaction holds back the vacuum of the outbox), counting without parallel workers, named
    `bench-p2f-watch` (its PostgreSQL CPU is counted apart); the exact counts, which read every row, every few
    seconds only (a look each second, with a new connection each time, was about a tenth of the machine in a
    burst; every 5 s, 12.5 CPU seconds of PostgreSQL in a burst's three minutes)."""

    def __init__(self, urls: dict[str, str], bootstrap: str, exact_every: float = 10.0):
        from runtime.db import make_engine
        from runtime.monitoring import Broker
        self.broker = Broker(bootstrap, "bench-p2f-watch")
        self.engines = {name: make_engine(_named(url, "bench-p2f-watch")) for name, url in urls.items()}
        self.connections = {}
        self.exact_every = exact_every
        self.samples: list[tuple[float, dict]] = []  # (time, `_consumed`): the exact looks
        self.quick: list[tuple[float, bool, dict]] = []  # (time, nothing waiting anywhere, each group's lag)
        self.credited = {group: {} for group in MEASURED_TOPIC}  # member -> events
        self.held = {group: {} for group in MEASURED_TOPIC}  # member -> partitions at the last look
        self.offsets: dict = {}
        self.first_offsets: dict = {}
        self.failed_looks = 0
        self.low = [0]  # the first unsent outbox id seen (`_quiet`)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "_Watch":
        for name, engine in self.engines.items():
            connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            connection.execute(text("SET max_parallel_workers_per_gather = 0"))
            self.connections[name] = connection
        self._look(exact=True)
        self.thread.start()
        return self

    def finish(self) -> None:
        """Stop looking, after one last exact look."""
        if not self.stop.is_set():
            self.stop.set()
            self.thread.join(timeout=30)
            self._look(exact=True)

    def close(self) -> None:
        self.finish()
        for connection in self.connections.values():
            connection.close()
        for engine in self.engines.values():
            engine.dispose()
        self.broker.close()

    def _run(self) -> None:
        exact_at = time.monotonic() + self.exact_every
        while not self.stop.wait(1.0):
            exact = time.monotonic() >= exact_at
            if exact:
                exact_at += self.exact_every
            self._look(exact)

    def _look(self, exact: bool) -> None:
        lags = {}
        for group, topic in MEASURED_TOPIC.items():
            try:
                lags[group] = self._credit(group, topic)
            except Exception:  # noqa: BLE001 - a rebalance or a slow coordinator: the next look credits it
                self.failed_looks += 1
        try:
            at = time.time()
            if exact:
                self.samples.append((at, _consumed(self.connections)))
            if len(lags) == len(MEASURED_TOPIC):
                self.quick.append((at, not any(lags.values()) and _quiet(self.connections["attendance"], self.low), lags))
        except Exception:  # noqa: BLE001 - PostgreSQL busy beyond its timeouts: the next look counts
            self.failed_looks += 1

    def quiet_since(self, since: float, looks: int = 3) -> float | None:
        """The first of `looks` quick looks in a row after `since` that found nothing waiting anywhere."""
        after = [(at, quiet) for at, quiet, _ in self.quick if at > since][-looks:]
        return after[0][0] if len(after) == looks and all(quiet for _, quiet in after) else None

    def lagging_until(self, group: str, since: float) -> float | None:
        """When a quick look last saw events in Kafka that `group` had not committed, after `since`."""
        behind = [at for at, _, lags in self.quick if at >= since and lags.get(group)]
        return behind[-1] if behind else None

    def _credit(self, group: str, topic: str) -> None:
        owner = {}
        for member in self.broker.admin.describe_groups([group])[group]["members"]:
            name = member["member_id"]
            self.credited[group].setdefault(name, 0)
            held = [p for assigned in (member.get("member_assignment") or {}).get("assigned_partitions", [])
                    if assigned["topic"] == topic for p in assigned["partitions"]]
            owner.update({partition: name for partition in held})
            self.held[group][name] = sorted(held)
        for tp, offset in self.broker.committed(group).items():
            if tp.topic != topic:
                continue
            previous = self.offsets.get((group, tp.partition))
            if previous is not None and offset > previous and tp.partition in owner:
                self.credited[group][owner[tp.partition]] += offset - previous
            self.offsets[group, tp.partition] = offset
            self.first_offsets.setdefault((group, tp.partition), offset)
        ends = self.broker.end_offsets(self.broker.partitions([topic]))
        return sum(end - self.offsets.get((group, tp.partition), 0) for tp, end in ends.items())

    def advanced(self, group: str) -> int:
        """How far the group's committed offsets on its hot topic moved while watched (credited or not)."""
        return sum(offset - self.first_offsets[key] for key, offset in self.offsets.items() if key[0] == group)

    def per_instance(self, group: str, seconds: float) -> list[dict]:
        """Each member's events and events per second over `seconds` (the consumer's busy period), most first."""
        found = sorted(self.credited[group].items(), key=lambda item: -item[1])
        return [{"events": events, "events_per_s": round(events / seconds) if seconds > 0 else None,
                 "partitions": self.held[group].get(member, [])} for member, events in found if events]

    def timeline(self, since: float, every_s: float) -> list[dict]:
        """What was waiting at each hop, every `every_s` seconds since `since`."""
        out, next_at = [], since
        for at, counts in self.samples:
            if at >= next_at:
                out.append({"t_s": round(at - since), **_behind(counts)})
                next_at = at + every_s
        return out


def _quiet(attendance, low: list[int]) -> bool:
    """Whether no upload waits to be stored and no outbox row to be sent: the partial index of pending uploads, and
    the outbox's first row (it holds only unsent rows) looked for from `low[0]`, the first one seen the last time,
    through the primary key (from the start of the table that stepped over every row the relay has deleted since the
    last vacuum, hundreds of thousands in a burst). A row committed late below it is missed here and found by the
    exact count that confirms a drain."""
    pending, first = attendance.execute(text(
        "SELECT EXISTS (SELECT 1 FROM raw_uploads WHERE processed_at IS NULL),"
        " (SELECT min(id) FROM outbox WHERE id >= :low)"), {"low": low[0]}).one()
    if first is not None:
        low[0] = first
    return not pending and first is None


def _busy_until(samples: list[tuple[float, dict]], hop: str, since: float) -> float | None:
    """When a hop's queue was last seen non-empty after `since` (None: never behind)."""
    behind = [at for at, counts in samples if at >= since and _behind(counts)[hop] > 0]
    return behind[-1] if behind else None


def _stack_processes(args, port: int, env: dict, urls: dict[str, str], logs: str) -> dict[str, subprocess.Popen]:
    """The attendance service under gunicorn, its ingest job and relay, and `args.instances` processes of each of
    the attendance and scoring consumers (one group per service: they share the partitions). Each connects to
    PostgreSQL under its own application name, so its backends' CPU is told apart (`_cpu`)."""
    commands = {"web": gunicorn_command(port, 2),
                "relay-attendance": [sys.executable, "-m", "runtime.cli", "relay", "attendance"]}
    for n in range(1, args.ingest_processes + 1):  # side by side, each claiming other uploads (SKIP LOCKED)
        commands["ingest" if n == 1 else f"ingest-{n}"] = [sys.executable, "-m", "runtime.cli", "work", "attendance"]
    for n in range(1, args.instances + 1):
        for service in ("attendance", "scoring"):
            commands[f"consume-{service}-{n}"] = [sys.executable, "-m", "runtime.cli", "consume", service]
    return {name: subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(f"{logs}/{name}.log", "wb"),
                                   env=dict(env, ATTENDANCE_DATABASE_URL=_named(urls["attendance"], f"bench-p2f-{name}"),
                                            SCORING_DATABASE_URL=_named(urls["scoring"], f"bench-p2f-{name}")))
            for name, command in commands.items()}


def _cpu(pg: str, processes: dict[str, subprocess.Popen]) -> dict[str, dict[int, float]]:
    """CPU seconds so far, by pid, of each process (with its children: gunicorn's workers) and of the PostgreSQL
    backends serving it ("<name> postgres", by the application name `_stack_processes` gave it)."""
    with _engine(pg) as conn:  # the bench's databases are named after the bench (`_database`)
        backends = conn.execute(text("SELECT application_name, pid FROM pg_stat_activity "
                                     "WHERE backend_type = 'client backend' AND datname LIKE 'bench_p2f%'")).all()
    out = {}
    for name, process in processes.items():
        out[name] = {pid: _cpu_seconds([pid]) for pid in [process.pid, *_children(process.pid)]}
        out[f"{name} postgres"] = {}
    for application, pid in backends:
        # a connection a process names itself (the relay's reads, a lease, a wake-up) keeps its own name
        out.setdefault(f"{application.removeprefix('bench-p2f-')} postgres", {})[pid] = _cpu_seconds([pid])
    # what else shares the two cores: the broker(s) this bench started, the bench itself (the devices' threads,
    # the probes, the watch), and the whole machine (`_machine_busy`), so that the rest is known too
    ours = os.getpid()
    out["kafka broker"] = {pid: _cpu_seconds([pid]) for pid in _children(ours) if _is_java(pid)}
    out["bench (devices, probes, watch)"] = {ours: _cpu_seconds([ours])}
    out[MACHINE] = {0: _machine_busy()}
    return out


MACHINE = "machine (every process, every core)"


def _is_java(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "java"
    except OSError:
        return False


def _machine_busy() -> float:
    """CPU seconds the machine's cores have been busy since boot (Linux /proc/stat: all but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _cpu_used(start: dict[str, dict[int, float]], end: dict[str, dict[int, float]]) -> dict[str, float]:
    """CPU seconds used between two `_cpu` looks (a pid born in between counted in full), and what the machine
    spent besides every part named (PostgreSQL's own processes, short-lived ones, anything else running)."""
    used = {name: round(sum(seconds - start.get(name, {}).get(pid, 0.0) for pid, seconds in pids.items()), 1)
            for name, pids in end.items()}
    if MACHINE in used:
        used["the rest of the machine"] = round(used[MACHINE] - sum(v for k, v in used.items() if k != MACHINE), 1)
    return used


def _stop(processes: dict[str, subprocess.Popen]) -> None:
    for process in processes.values():
        process.terminate()
    for process in processes.values():
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def part_stack(pg: str, args) -> dict:
    """The running stack: devices at `args.rate` for `args.seconds`, probes before and during the load."""
    from runtime.kafka import ensure_topics, topic_partitions, topic_settings
    devices = 40
    batches = max(1, round(args.rate * args.seconds / (BATCH * devices)))
    probes = args.idle_probes + int(args.seconds / args.probe_every) + 10
    urls = {name: _database(pg, name) for name in ("attendance", "scoring")}
    serials = [f"BENCH{n:05d}" for n in range(devices)]
    _seed(urls["attendance"], serials, args.pins)
    _seed(urls["attendance"], [PROBE_SERIAL], probes, first_nip=PROBE_FIRST_NIP)
    _seed_employees(urls, [bench_nip(d, pin, args.pins) for d in range(devices) for pin in range(1, args.pins + 1)]
                    + [bench_nip(0, pin, probes, PROBE_FIRST_NIP) for pin in range(1, probes + 1)])
    bodies = {serial: _bodies(n, batches, args.pins) for n, serial in enumerate(serials)}
    port = _free_port()
    logs = tempfile.mkdtemp(prefix="bench-p2f-")
    report = {"rate": args.rate, "seconds": args.seconds, "devices": devices, "punches": devices * batches * BATCH,
              "employees": devices * args.pins, "ingest_processes": args.ingest_processes,
              "brokers": args.brokers, "consumer_instances": args.instances, "logs": logs}
    with ExitStack() as cleanup:  # undone in reverse: processes stopped, then the broker, then the databases
        if not args.keep_db:
            cleanup.callback(lambda: [_drop_database(url) for url in urls.values()])
        bootstrap, kafka_env = cleanup.enter_context(throwaway_kafka(args.brokers))
        env = dict(os.environ, **kafka_env, LOG_LEVEL="WARNING", GUNICORN_THREADS="4",
                   KAFKA_PARTITIONS=str(args.partitions or topic_partitions()),
                   ATTENDANCE_DEVICE_RATE_LIMIT="1000000 per minute",
                   ATTENDANCE_DATABASE_URL=urls["attendance"], SCORING_DATABASE_URL=urls["scoring"])
        report["partitions"] = topic_partitions(env)
        ensure_topics(bootstrap, partitions=topic_partitions(env), replication=topic_settings(env))
        processes = _stack_processes(args, port, env, urls, logs)
        cleanup.callback(_stop, processes)
        _wait_ready(port)
        pin = 1
        _post(port, PROBE_SERIAL, _probe_body(pin))  # warm-up: every process connected, the topics' leaders known
        _wait_flag(urls, pin, timeout_s=120)
        idle = {}
        for _ in range(args.idle_probes):
            pin += 1
            idle[pin] = _post(port, PROBE_SERIAL, _probe_body(pin))
            _wait_flag(urls, pin)
        report["idle"] = _summary(_hops(urls, idle))
        cpu = _cpu(pg, processes)
        watch = _Watch(urls, bootstrap).start()
        cleanup.callback(watch.close)
        before = watch.samples[0][1]
        loaded: dict[int, float] = {}
        start, origin, latencies, errors = threading.Event(), [0.0], [], []
        interval = BATCH * devices / args.rate
        threads = [threading.Thread(target=_device_worker, args=(
            port, serial, bodies[serial], latencies, errors, start, (interval * n / devices, interval), origin))
            for n, serial in enumerate(serials)]
        for thread in threads:
            thread.start()
        t0 = time.perf_counter()
        origin[0] = t0
        wall0 = time.time()
        start.set()
        while any(thread.is_alive() for thread in threads):
            pin += 1
            loaded[pin] = _post(port, PROBE_SERIAL, _probe_body(pin))
            time.sleep(args.probe_every)
        for thread in threads:
            thread.join()
        load_s = time.perf_counter() - t0
        ended = time.time()
        backlog = _behind(_consumed_once(urls))
        drained = None  # the first of three quick looks in a row with nothing waiting anywhere, confirmed by counting
        while drained is None and time.time() < ended + args.drain_timeout:
            time.sleep(1.0)
            drained = watch.quiet_since(ended)
            if drained is not None and any(_behind(_consumed_once(urls)).values()):
                drained = None  # cannot be (a committed offset ahead of its transaction?): go on looking
        watch.finish()
        used = _cpu_used(cpu, _cpu(pg, processes))
        watch.close()
        after = watch.samples[-1][1]
        deadline = time.monotonic() + 10  # the last probes' flags, bounded as a whole
        for p in loaded:
            _wait_flag(urls, p, timeout_s=max(0.0, deadline - time.monotonic()))
        lat = sorted(latencies)
        report["load"] = {
            "offered_s": round(load_s, 1), "acknowledged_per_s": round(len(lat) * BATCH / load_s),
            "ack_p50_ms": _percentile(lat, 0.5), "ack_p99_ms": _percentile(lat, 0.99),
            "ack_max_ms": round(lat[-1] * 1000, 1), "errors": len(errors),
            "waiting_when_load_ended": backlog,
            "drained_s_after_load": round(drained - ended, 1) if drained else None,
            "not_drained_within_s": None if drained else args.drain_timeout,
            "waiting_at_the_end": _behind(after),
            "waiting_every_10_s": watch.timeline(wall0, watch.exact_every),
            "counts": after,
            "cpu_seconds_from_load_start": used}
        for service, hop, applied in (("scoring", "day_events", "day_events_applied"),):
            # a consumer's rate over the time it had work waiting: from the load's start until its queue was empty
            busy = max(_busy_until(watch.samples, hop, wall0) or wall0, watch.lagging_until(service, wall0) or wall0) - wall0
            # what it had applied when it was done: the first exact count after (nothing waited meanwhile)
            done = next((counts[applied] for at, counts in watch.samples if at >= wall0 + busy), after[applied])
            report["load"][f"{service}_consumer"] = {
                "busy_s": round(busy, 1), "events_per_s": round((done - before[applied]) / busy) if busy else None,
                "offsets_advanced": watch.advanced(service), "per_instance": watch.per_instance(service, busy)}
        # the ingest job's rate (punches stored with their days) over the time uploads waited for it
        busy = (_busy_until(watch.samples, "uploads", wall0) or wall0) - wall0
        done = next((counts["punches"] for at, counts in watch.samples if at >= wall0 + busy), after["punches"])
        report["load"]["ingest_job"] = {
            "busy_s": round(busy, 1), "punches_per_s": round((done - before["punches"]) / busy) if busy else None}
        report["watch_failed_looks"] = watch.failed_looks
        report["under_load"] = _summary(_hops(urls, loaded))
        return report


class _engine:
    """A short-lived connection: `with _engine(url) as conn`."""

    def __init__(self, url):
        from runtime.db import make_engine
        self.engine = make_engine(url)

    def __enter__(self):
        self.conn = self.engine.connect()
        return self.conn

    def __exit__(self, *exc):
        self.conn.close()
        self.engine.dispose()


def main() -> int:
    """Run the benchmark and print its figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["apply", "stack", "both"], default="both")
    parser.add_argument("--employees", type=int, default=5000)
    parser.add_argument("--events", type=int, default=20000, help="apply: punches")
    parser.add_argument("--ingest-batch", type=int, default=6400,
                        help="apply: punches stored and built per transaction (the ingest job's 50 uploads of 128)")
    parser.add_argument("--rate", type=float, default=2000, help="stack: punches per second offered")
    parser.add_argument("--seconds", type=float, default=60, help="stack: how long the devices push")
    parser.add_argument("--probe-every", type=float, default=0.5, help="stack: seconds between probes")
    parser.add_argument("--idle-probes", type=int, default=20, help="stack: probes before the load")
    parser.add_argument("--instances", type=int, default=1,
                        help="stack: processes of each consumer (attendance, scoring), one group per service")
    parser.add_argument("--pins", type=int, default=50,
                        help="stack: employees enrolled per device (40 devices), each device's punches going round "
                             "them a minute apart: 50 gives every employee ~29 punches a day; punches/s x seconds / 40 "
                             "gives each employee one punch, as in a morning peak")
    parser.add_argument("--ingest-processes", type=int, default=1,
                        help="stack: processes of the ingest job (`kinerja work attendance`) side by side")
    parser.add_argument("--brokers", type=int, choices=[1, 3], default=1,
                        help="stack: one broker, or a three-broker cluster (replication 3, min.insync.replicas 2)")
    parser.add_argument("--partitions", type=int, default=None,
                        help="stack: partitions per topic (default KAFKA_PARTITIONS, else 3)")
    parser.add_argument("--drain-timeout", type=float, default=600,
                        help="stack: seconds after the load to wait for everything to be applied")
    parser.add_argument("--kafka", action="store_true",
                        help="apply: the day events go through a throwaway broker's topics, polled as deployed")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    pg = os.environ.get("TEST_DATABASE_URL")
    if not pg:
        print("set TEST_DATABASE_URL (eval \"$(bash deploy/postgres.sh start)\")", file=sys.stderr)
        return 2
    report = {"machine": f"{os.cpu_count()} CPU, {platform.python_implementation()} {platform.python_version()}",
              "load_before": [round(x, 2) for x in os.getloadavg()], "started": datetime.now(UTC).isoformat(),
              "reference_loop_s_before": _reference_loop()}
    with _engine(pg) as conn:
        report["postgres"] = {name: conn.execute(text(f"SHOW {name}")).scalar()
                              for name in ("fsync", "synchronous_commit", "shared_buffers")}
    if args.part in ("apply", "both"):
        with ExitStack() as stack:
            bootstrap = stack.enter_context(throwaway_kafka())[0] if args.kafka else None
            report["apply"] = part_apply(pg, args.employees, args.events, args.keep_db, bootstrap, args.ingest_batch)
    if args.part in ("stack", "both"):
        report["stack"] = part_stack(pg, args)
    report["load_after"] = [round(x, 2) for x in os.getloadavg()]
    report["reference_loop_s_after"] = _reference_loop()
    print(json.dumps(report, indent=2))
    return 0


def _reference_loop() -> float:
    """CPU seconds of a fixed pure-Python loop: this machine's speed swings by a third between minutes (the same code's
    CPU per punch with it), so every run reports its speed before and after, to set runs of different minutes side
    by side (docs/PERFORMANCE.md, "The burst after the late night")."""
    started, n = time.process_time(), 0
    for i in range(3_000_000):
        n += i * i % 7
    return round(time.process_time() - started, 3)


if __name__ == "__main__":
    sys.exit(main())
