"""Benchmark: from a device's punch to a visible cross-check flag, and what the consumers on that path apply.

Two parts (both by default; `--part apply` or `--part stack` for one):

- **apply**: the consumers alone, in process, on PostgreSQL (fresh attendance and scoring databases): `--events`
  `attendance.punch.recorded` events of `--employees` employees (a clock-in and a clock-out per employee and
  day, in time order as devices send them) parsed from their wire form and applied by attendance's real
  consumer path (`EventConsumer.handle_records`, inbox included) in polls of `max_poll_records` (200); then the
  `attendance.day.built` events that produced, applied the same way by scoring's consumer. Events per second
  of each (no Kafka hop: `bench/relay.py` measures the relay).
- **stack**: the whole path running as in production: a Kafka broker, the attendance service under gunicorn,
  its ingest job, the attendance and scoring relays and consumers (`kinerja work|relay|consume`). Devices
  push `--rate` punches per second for `--seconds` (reusing `bench/attendance_ingest.py`'s devices), and a
  probe device posts, every `--probe-every` seconds, a fresh employee's clock-in and late clock-out (overtime
  with no activity logged: scoring raises `overtime_without_activity`). For each probe: acknowledged ->
  punch stored -> day built -> flag raised (row timestamps, one clock), p50/p99 per hop; probes before the
  load give the idle latency. After the load: how long until every punch event is applied by attendance and
  every day by scoring, and each consumer's events per second.

    eval "$(bash deploy/postgres.sh start)"
    .venv/bin/python bench/punch_to_flag.py --part apply --events 20000
    .venv/bin/python bench/punch_to_flag.py --part stack --rate 2000 --seconds 60
    .venv/bin/python bench/punch_to_flag.py --part stack --rate 10000 --seconds 30
"""
from __future__ import annotations

import argparse
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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "services"))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from attendance_ingest import (BATCH, _bodies, _device_worker, _drop_database, _free_port,  # noqa: E402
                               _percentile, _seed, _wait_ready)

WIB = 7  # Asia/Jakarta, UTC+7
POLL = 200  # the consumers' max_poll_records (runtime/kafka.py)
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


def _apply(name: str, url: str, metadata, handlers, wires: list[tuple[str, str, str]]) -> float:
    """Apply wire events through the service's real consumer path, in polls of POLL; events per second."""
    from runtime.consumer import EventConsumer
    from runtime.db import make_engine, make_session_factory
    engine = make_engine(url)
    consumer = EventConsumer(name, None, None, make_session_factory(engine, metadata), handlers)
    records = [_Record(topic, n, key, value) for n, (topic, key, value) in enumerate(wires)]
    t0 = time.perf_counter()
    for start in range(0, len(records), POLL):
        consumer.handle_records(records[start:start + POLL])
    elapsed = time.perf_counter() - t0
    engine.dispose()
    return len(records) / elapsed


def _punch_events(url: str, employees: int, events: int) -> list[tuple[str, str, str]]:
    """Store the punches and return their events' wire forms: each employee's clock-in (06:30-07:50) and
    clock-out (16:00-18:30) on consecutive working days, in time order across employees."""
    from attendance import tables
    from runtime.db import insert_rows, make_engine, make_session_factory
    from runtime.events import make_events
    nips = [str(FIRST_NIP + n) for n in range(employees)]
    rows = []
    day = date(2026, 11, 2)  # a Monday
    while len(rows) < events:
        if day.weekday() < 5:
            for minute_of in (lambda n: 6 * 60 + 30 + n % 80, lambda n: 16 * 60 + n % 150):
                for n, nip in enumerate(nips):
                    local = datetime(day.year, day.month, day.day) + timedelta(minutes=minute_of(n), seconds=n % 60)
                    rows.append({"device_serial": "BENCH", "pin": str(n), "sequence": len(rows) + 1,
                                 "employee_id": nip, "source": "adms", "at": (local - timedelta(hours=WIB)).replace(
                                     tzinfo=UTC), "local_time": local, "zone": "Asia/Jakarta", "local_date": day,
                                 "device_status": 0, "verify": 1, "upload_id": None,
                                 "recorded_at": datetime.now(UTC)})
        day += timedelta(days=1)
    rows = sorted(rows[:events], key=lambda r: r["at"])
    engine = make_engine(url)
    with make_session_factory(engine, tables.metadata).begin() as session:
        session.execute(insert(tables.employees), [
            {"employee_id": nip, "unit_id": "bench", "zone": "Asia/Jakarta", "schedule_id": None, "active": True}
            for nip in nips])
        ids = []
        for start in range(0, len(rows), 10000):
            ids += [r.id for r in insert_rows(session, tables.punches, rows[start:start + 10000], returning=("id",))]
    engine.dispose()
    made = make_events("attendance.punch.recorded", [(r["employee_id"], {
        "punch_id": str(punch_id), "employee_id": r["employee_id"], "device_serial": r["device_serial"],
        "pin": r["pin"], "source": "adms", "at": r["at"], "local_time": r["local_time"], "zone": r["zone"],
        "local_date": r["local_date"], "device_status": 0, "verify": 1}) for punch_id, r in zip(ids, rows)], "bench")
    return [(e.topic, e.key, e.to_json()) for e in made]


def part_apply(pg: str, employees: int, events: int, keep: bool) -> dict:
    """The attendance and scoring consumers applying a burst, in process."""
    from attendance import tables as attendance_tables
    from attendance.consumers import handlers as attendance_handlers
    from runtime.config import Settings
    from scoring import tables as scoring_tables
    from scoring.consumers import handlers as scoring_handlers
    attendance_url, scoring_url = _database(pg, "attendance"), _database(pg, "scoring")
    try:
        wires = _punch_events(attendance_url, employees, events)
        _seed_scoring(scoring_url, [str(FIRST_NIP + n) for n in range(employees)])
        settings = Settings.from_env("attendance", dict(os.environ, ATTENDANCE_DATABASE_URL=attendance_url))
        attendance_rate = _apply("attendance", attendance_url, attendance_tables.metadata,
                                 attendance_handlers(settings), wires)
        with _engine(attendance_url) as conn:
            days = [(r.topic, r.key, r.payload) for r in conn.execute(text(
                "SELECT topic, key, payload FROM outbox WHERE type = 'attendance.day.built' ORDER BY id"))]
        settings = Settings.from_env("scoring", dict(os.environ, SCORING_DATABASE_URL=scoring_url))
        scoring_rate = _apply("scoring", scoring_url, scoring_tables.metadata, scoring_handlers(settings), days)
        with _engine(scoring_url) as conn:
            flags = conn.execute(text("SELECT count(*) FROM flags")).scalar()
        return {"punch_events": len(wires), "employees": employees, "attendance_events_per_s": round(attendance_rate),
                "day_events": len(days), "scoring_events_per_s": round(scoring_rate), "flags_raised": flags}
    finally:
        if not keep:
            _drop_database(attendance_url)
            _drop_database(scoring_url)

PROBE_SERIAL = "PROBE00001"
PROBE_DATE = date(2025, 1, 7)  # a Tuesday; the devices' log starts on Monday 2025-01-06
PROBE_FIRST_NIP = 197501012000011000


def _seed_employees(urls: dict[str, str], nips: list[str]) -> None:
    """The employees in attendance's and scoring's projections, as the directory's events would put them."""
    from attendance import tables as attendance_tables
    from runtime.db import make_engine, make_session_factory
    engine = make_engine(urls["attendance"])
    with make_session_factory(engine, attendance_tables.metadata).begin() as session:
        session.execute(insert(attendance_tables.employees), [
            {"employee_id": nip, "unit_id": "bench", "zone": "Asia/Jakarta", "schedule_id": None, "active": True}
            for nip in nips])
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
                     "p99_ms": _percentile(values, 0.99) if values else None,
                     "max_ms": round(values[-1] * 1000, 1) if values else None}
    return out


def _consumed(urls: dict[str, str]) -> dict[str, int]:
    """Events produced and applied along the path so far."""
    with _engine(urls["attendance"]) as conn:
        pending, punches, days, applied = conn.execute(text(
            "SELECT (SELECT count(*) FROM raw_uploads WHERE processed_at IS NULL),"
            " (SELECT count(*) FROM outbox WHERE type = 'attendance.punch.recorded'),"
            " (SELECT count(*) FROM outbox WHERE type = 'attendance.day.built'),"
            " (SELECT count(*) FROM inbox WHERE type = 'attendance.punch.recorded')")).one()
    with _engine(urls["scoring"]) as conn:
        scored = conn.execute(text("SELECT count(*) FROM inbox WHERE type = 'attendance.day.built'")).scalar()
    return {"pending_uploads": pending, "punch_events": punches, "punch_events_applied": applied, "day_events": days, "day_events_applied": scored}


def _wait_flag(urls: dict[str, str], pin: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with _engine(urls["scoring"]) as conn:
            if conn.execute(text("SELECT 1 FROM flags WHERE employee_id = :n"),
                            {"n": str(PROBE_FIRST_NIP + pin)}).first():
                return
        time.sleep(0.02)


def part_stack(pg: str, args) -> dict:
    """The running stack: devices at `args.rate` for `args.seconds`, probes before and during the load."""
    from runtime.broker import Broker
    from runtime.kafka import ensure_topics
    devices = 40
    batches = max(1, round(args.rate * args.seconds / (BATCH * devices)))
    probes = args.idle_probes + int(args.seconds / args.probe_every) + 10
    urls = {name: _database(pg, name) for name in ("attendance", "scoring")}
    serials = [f"BENCH{n:05d}" for n in range(devices)]
    _seed(urls["attendance"], serials, 50)
    _seed(urls["attendance"], [PROBE_SERIAL], probes, first_nip=PROBE_FIRST_NIP)
    _seed_employees(urls, [str(198001012005011000 + d * 1000 + pin) for d in range(devices) for pin in range(1, 51)]
                    + [str(PROBE_FIRST_NIP + pin) for pin in range(1, probes + 1)])
    bodies = {serial: _bodies(n, batches, 50) for n, serial in enumerate(serials)}
    broker = Broker(home=Path(tempfile.mkdtemp(prefix="bench-kafka-")), port=_free_port(),
                    controller_port=_free_port()).start()
    ensure_topics(broker.bootstrap)
    port = _free_port()
    base = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap, LOG_LEVEL="WARNING", GUNICORN_THREADS="4",
                ATTENDANCE_DEVICE_RATE_LIMIT="1000000 per minute",
                ATTENDANCE_DATABASE_URL=urls["attendance"], SCORING_DATABASE_URL=urls["scoring"])
    logs = tempfile.mkdtemp(prefix="bench-p2f-")
    commands = {"web": ["-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"), "-b", f"127.0.0.1:{port}",
                        "-w", "2", "--keep-alive", "75", "attendance.app:create_app()"],  # a device's pace
                "ingest": ["-m", "runtime.cli", "work", "attendance"],
                "relay-attendance": ["-m", "runtime.cli", "relay", "attendance"],
                "consume-attendance": ["-m", "runtime.cli", "consume", "attendance"],
                "consume-scoring": ["-m", "runtime.cli", "consume", "scoring"]}
    processes = {name: subprocess.Popen([sys.executable, *command], env=base, cwd=ROOT, stdout=subprocess.DEVNULL,
                                        stderr=open(f"{logs}/{name}.log", "wb"))
                 for name, command in commands.items()}
    report = {"rate": args.rate, "seconds": args.seconds, "devices": devices, "punches": devices * batches * BATCH,
              "logs": logs}
    try:
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
        before = _consumed(urls)
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
        backlog = _consumed(urls)
        deadline = time.monotonic() + 600
        settled = 0
        while time.monotonic() < deadline and settled < 3:  # nothing pending anywhere, three looks in a row
            now = _consumed(urls)
            done = (now["pending_uploads"] == 0 and now["punch_events_applied"] >= now["punch_events"]
                    and now["day_events_applied"] >= now["day_events"])
            settled = settled + 1 if done else 0
            time.sleep(0.2)
        drained = time.time() - 0.6
        after = _consumed(urls)
        for p in loaded:
            _wait_flag(urls, p, timeout_s=5)
        lat = sorted(latencies)
        report["load"] = {
            "offered_s": round(load_s, 1), "acknowledged_per_s": round(len(lat) * BATCH / load_s),
            "ack_p50_ms": _percentile(lat, 0.5), "ack_p99_ms": _percentile(lat, 0.99), "errors": len(errors),
            "backlog_at_end": {k: backlog[k.replace("_applied", "")] - v for k, v in backlog.items()
                               if k.endswith("_applied")},
            "drained_s_after_load": round(drained - ended, 1),
            "attendance_events_per_s": round((after["punch_events_applied"] - before["punch_events_applied"])
                                             / (drained - wall0)),
            "scoring_events_per_s": round((after["day_events_applied"] - before["day_events_applied"])
                                          / (drained - wall0)),
            "counts": after}
        report["under_load"] = _summary(_hops(urls, loaded))
        return report
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        broker.stop()
        broker.wipe()  # the throwaway broker's data; the processes' logs stay in report["logs"]
        if not args.keep_db:
            for url in urls.values():
                _drop_database(url)


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
    parser.add_argument("--events", type=int, default=20000, help="apply: punch events")
    parser.add_argument("--rate", type=float, default=2000, help="stack: punches per second offered")
    parser.add_argument("--seconds", type=float, default=60, help="stack: how long the devices push")
    parser.add_argument("--probe-every", type=float, default=0.5, help="stack: seconds between probes")
    parser.add_argument("--idle-probes", type=int, default=20, help="stack: probes before the load")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    pg = os.environ.get("TEST_DATABASE_URL")
    if not pg:
        print("set TEST_DATABASE_URL (eval \"$(bash deploy/postgres.sh start)\")", file=sys.stderr)
        return 2
    report = {"machine": f"{os.cpu_count()} CPU, {platform.python_implementation()} {platform.python_version()}",
              "load_before": [round(x, 2) for x in os.getloadavg()], "started": datetime.now(UTC).isoformat()}
    with _engine(pg) as conn:
        report["postgres"] = {name: conn.execute(text(f"SHOW {name}")).scalar()
                              for name in ("fsync", "synchronous_commit", "shared_buffers")}
    if args.part in ("apply", "both"):
        report["apply"] = part_apply(pg, args.employees, args.events, args.keep_db)
    if args.part in ("stack", "both"):
        report["stack"] = part_stack(pg, args)
    report["load_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
