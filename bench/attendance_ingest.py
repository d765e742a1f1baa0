"""Benchmark: many fingerprint devices posting 128-line ATTLOG batches to the attendance service.

Runs the service under gunicorn on PostgreSQL (a fresh database) and the ingest job
(`kinerja work attendance`, `--jobs` processes), replays `--devices` devices each posting `--batches`
batches of 128 records over keep-alive HTTP connections, and reports two things separately:
- **acknowledged**: punches per second answered `OK: 128` (the reply is sent only after the raw upload is
  committed: the durable store), with the latency of each acknowledgement (p50/p90/p99/max);
- **processed**: how fast the ingest job turns those uploads into punches and the days they belong to (with
  their `attendance.day.built` outbox rows): its backlog when the load ends, and the time until nothing is
  pending.
Without `--rate` every device posts back to back (saturation: the most the service acknowledges); with
`--rate P` the devices together post P punches per second, each on its own schedule, and latency is
counted from the scheduled send time (so a server falling behind is not hidden). In the same run it
measures the ceiling of one kafka-python producer sending the same records straight to Kafka.

    eval "$(bash deploy/postgres.sh start)"
    .venv/bin/python bench/attendance_ingest.py --devices 40 --batches 25 --workers 2 --rate 10000
(`KAFKA_BOOTSTRAP_SERVERS` names a broker; without it a throwaway local broker is started.)

`web_cpu_ms_per_upload_during_load` is the web's CPU per upload while the devices post (its gunicorn processes and
their PostgreSQL backends); with `--job-start after` nothing else of the service runs meanwhile:

    .venv/bin/python bench/attendance_ingest.py --devices 40 --batches 20 --pins 7500 --no-kafka --job-start after \
        --rate 10000

`--part job` measures the ingest job alone, in this process: the same devices' uploads are stored straight
into `raw_uploads` (untimed), then `jobs.drain` turns them into punches and days; it reports the job's
punches per second and CPU per punch (this process and its PostgreSQL backend), and a fingerprint of what
was stored (punches, the days' events in order per key) that must not change with an optimisation:

    .venv/bin/python bench/attendance_ingest.py --part job --devices 40 --batches 20 --pins 7500 --repeat 3
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "services"))

from sqlalchemy import insert  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

BATCH = 128


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bodies(serial_index: int, batches: int, pins: int) -> list[bytes]:
    """A device's log: `batches` bodies of 128 records, one minute apart, with sequence numbers."""
    start = datetime(2025, 1, 6, 6, 0)
    out = []
    for b in range(batches):
        lines = []
        for n in range(BATCH):
            i = b * BATCH + n
            when = start + timedelta(minutes=i)
            lines.append(f"{i % pins + 1}\t{when:%Y-%m-%d %H:%M:%S}\t0\t1\t0\t0\t0\t0\t0\t0\t{i + 1}")
        out.append(("\r\n".join(lines) + "\r\n").encode())
    return out


FIRST_NIP = 198001012005011000


def bench_nip(device: int, pin: int, pins: int, first_nip: int = FIRST_NIP) -> str:
    """The NIP enrolled as `pin` on the `device`-th device of devices with `pins` PINs each: 18 digits, unique per
    device and PIN."""
    return str(first_nip + device * max(1000, 10 ** len(str(pins))) + pin)


def _seed(url: str, serials: list[str], pins: int, first_nip: int = FIRST_NIP) -> None:
    """Approved devices, each with `pins` enrolled employees."""
    from attendance import tables
    from runtime.db import insert_rows, make_engine, make_session_factory
    engine = make_engine(url)
    sessions = make_session_factory(engine, tables.metadata)
    now = datetime.now(UTC)
    with sessions() as session, session.begin():
        session.execute(insert(tables.devices), [{
            "device_serial": s, "state": "approved", "zone": "Asia/Jakarta", "options": {}, "first_seen_at": now,
            "attlog_stamp": 0, "operlog_stamp": 0} for s in serials])
        rows = []
        for d, serial in enumerate(serials):
            for pin in range(1, pins + 1):
                nip = bench_nip(d, pin, pins, first_nip)
                rows.append({"device_serial": serial, "pin": str(pin), "employee_id": nip, "name": "", "active": True})
        insert_rows(session, tables.enrolments, rows)  # one statement: a morning peak enrols 300,000
    engine.dispose()


def _device_worker(port: int, serial: str, bodies: list[bytes], latencies: list, errors: list,
                   start: threading.Event, schedule: tuple[float, float] | None, origin: list):
    """Post a device's batches in order; with a schedule (offset, interval), each at its planned time. A connection
    the server closed while the device waited (its keep-alive ran out) is opened again, as a device does."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    start.wait()
    for n, body in enumerate(bodies):
        planned = None
        if schedule is not None:
            planned = origin[0] + schedule[0] + n * schedule[1]
            delay = planned - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        t0 = time.perf_counter()
        try:
            response, reply = _post_batch(conn, serial, n, body)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            conn.close()  # closed by the server between two batches: nothing of this one was read
            response, reply = _post_batch(conn, serial, n, body)
        latencies.append(time.perf_counter() - (planned if planned is not None and planned < t0 else t0))
        if response.status != 200 or reply != f"OK: {BATCH}".encode():
            errors.append((response.status, reply[:100]))
    conn.close()


def _post_batch(conn: http.client.HTTPConnection, serial: str, n: int, body: bytes):
    conn.request("POST", f"/iclock/cdata?SN={serial}&table=ATTLOG&Stamp={n + 1}", body=body,
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    response = conn.getresponse()
    return response, response.read()


def gunicorn_command(port: int, workers: int) -> list[str]:
    """The attendance service under gunicorn as the benches run it: the deployed configuration, with a keep-alive
    longer than a device's pause between two batches (gunicorn's default of 2 s would close most connections)."""
    return [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"), "-b",
            f"127.0.0.1:{port}", "-w", str(workers), "--keep-alive", "75", "attendance.app:create_app()"]


@contextmanager
def throwaway_kafka(brokers: int = 1):
    """A throwaway broker, or with `brokers=3` a three-broker cluster (every topic replicated three times,
    `min.insync.replicas=2`, as tests/e2e/test_kafka_cluster_e2e.py), in a temporary folder removed afterwards.
    Yields (bootstrap, the environment its clients need: `kinerja` processes create topics from it)."""
    from runtime.broker import Broker, Cluster
    if brokers not in (1, 3):
        raise ValueError("brokers: 1 or 3")
    home = Path(tempfile.mkdtemp(prefix="bench-kafka-"))
    if brokers == 3:
        kafka = Cluster.at(home, [(_free_port(), _free_port()) for _ in range(3)])
        env = {"KAFKA_REPLICATION_FACTOR": "3", "KAFKA_MIN_INSYNC_REPLICAS": "2"}
    else:
        kafka = Broker(home=home, port=_free_port(), controller_port=_free_port())
        env = {}
    try:
        kafka.start()
        yield kafka.bootstrap, dict(env, KAFKA_BOOTSTRAP_SERVERS=kafka.bootstrap)
    finally:
        kafka.stop()
        kafka.wipe()
        shutil.rmtree(home, ignore_errors=True)  # a cluster's wipe leaves the folder of its brokers


def _counts(engine) -> tuple[int, int, int]:
    """(pending uploads, punches, day events in the outbox) of the measured devices (not the warm-up one)."""
    from sqlalchemy import text
    with engine.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT (SELECT count(*) FROM raw_uploads WHERE processed_at IS NULL AND device_serial LIKE 'BENCH%'),"
            " (SELECT count(*) FROM punches WHERE device_serial LIKE 'BENCH%'),"
            " (SELECT count(*) FROM outbox WHERE type = 'attendance.day.built' AND key NOT LIKE '1970%')")).one())


def _warm_up(port: int, rounds: int) -> None:
    """A few uploads from a device outside the measurement: connections opened, statements prepared."""
    def post(n):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for body in _bodies(0, rounds, 5):
            conn.request("POST", f"/iclock/cdata?SN=WARM{n:03d}&table=ATTLOG", body=body)
            conn.getresponse().read()
        conn.close()
    threads = [threading.Thread(target=post, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _start_jobs(count: int, env: dict, url: str, nice: int) -> list[subprocess.Popen]:
    env = dict(env, ATTENDANCE_DATABASE_URL=_named(url, "bench-attendance-job"), ATTENDANCE_INGEST_NICE=str(nice))
    command = [sys.executable, "-m", "runtime.cli", "work", "attendance"]
    return [subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(count)]


def _named(url: str, application: str) -> str:
    """The database URL with an application name, so the CPU of each part's backends can be told apart."""
    return make_url(url).update_query_dict({"application_name": application}).render_as_string(hide_password=False)


def _cpu_seconds(pids) -> float:
    """User + system CPU seconds used so far by these processes (Linux /proc; 0 for a gone process)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return out


def _backends(engine, application: str) -> list[int]:
    """PostgreSQL backend pids serving this database for one application name."""
    from sqlalchemy import text
    with engine.connect() as conn:
        return [r.pid for r in conn.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = :a"),
            {"a": application})]


class _CpuMeter:
    """CPU seconds used during the load by the web server, the ingest job, and their PostgreSQL backends."""

    def __init__(self, engine, server_pid: int, jobs: list[subprocess.Popen]):
        self.engine, self.server_pid, self.jobs = engine, server_pid, jobs
        self.start = self._sample()

    def _pids(self) -> dict[str, list[int]]:
        return {"web": [self.server_pid, *_children(self.server_pid)], "job": [j.pid for j in self.jobs],
                "postgres_for_web": _backends(self.engine, "bench-attendance-web"),
                "postgres_for_job": _backends(self.engine, "bench-attendance-job")}

    def _sample(self) -> dict[str, dict[int, float]]:
        return {k: {pid: _cpu_seconds([pid]) for pid in pids} for k, pids in self._pids().items()}

    def used(self) -> dict[str, float]:
        """CPU seconds per part since the meter started (processes born since then counted in full)."""
        end = self._sample()
        return {k: round(sum(v - self.start[k].get(pid, 0.0) for pid, v in end[k].items()), 2) for k in end}


def _drop_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres", query={}), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _percentile(ordered: list[float], q: float) -> float:
    return round(ordered[min(len(ordered) - 1, max(0, int(len(ordered) * q) - 1))] * 1000, 1)


def _wait_ready(port: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError("gunicorn did not start")


def _kafka_ceiling(bootstrap: str, records: list[bytes]) -> float:
    """Records per second one kafka-python producer (the platform's settings) sends and gets acknowledged."""
    from runtime.kafka import make_producer
    producer = make_producer(bootstrap, "bench-ceiling")
    topic = f"bench.attendance.{uuid.uuid4().hex[:8]}"
    producer.send(topic, key="warm", value=b"{}").get(timeout=60)
    t0 = time.perf_counter()
    for n, record in enumerate(records):
        producer.send(topic, key=str(n % 1000), value=record)
    producer.flush(timeout=300)
    elapsed = time.perf_counter() - t0
    producer.close()
    return len(records) / elapsed


def _store_uploads(url: str, bodies: dict[str, list[bytes]]) -> None:
    """The devices' uploads stored as the upload request stores them (pending), interleaved as they arrive."""
    from attendance import tables
    from runtime.db import make_engine, make_session_factory
    engine = make_engine(url)
    sessions = make_session_factory(engine, tables.metadata)
    now = datetime.now(UTC)
    batches = max(len(b) for b in bodies.values())
    with sessions() as session, session.begin():
        session.execute(insert(tables.raw_uploads), [
            {"device_serial": serial, "table_name": "ATTLOG", "stamp": str(n + 1), "received_at": now,
             "body": device_bodies[n]}
            for n in range(batches) for serial, device_bodies in bodies.items() if n < len(device_bodies)])
    engine.dispose()


def _seed_employees(url: str) -> None:
    """The enrolled employees in the employees projection, as the directory's events put them: the days of their
    punches are built on their rows (each locked while it is)."""
    from sqlalchemy import text
    from runtime.db import make_engine
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO employees (employee_id, unit_id, zone, active)"
                          " SELECT DISTINCT employee_id, 'bench', 'Asia/Jakarta', true FROM enrolments"))
    engine.dispose()


def _fingerprint(engine) -> dict:
    """What the job stored, in a form that must not change: punches, rejected lines and the outbox's day
    events (their data, with each punch named by its device, PIN and time, and their order per key), hashed."""
    import hashlib
    from sqlalchemy import text
    with engine.connect() as conn:
        punches = conn.execute(text(
            "SELECT device_serial, pin, sequence, employee_id, source, at, local_time, zone, local_date,"
            " device_status, verify, upload_id FROM punches ORDER BY device_serial, pin, local_time")).all()
        events = conn.execute(text(
            "SELECT key, topic, type, payload FROM outbox WHERE type = 'attendance.day.built' ORDER BY id")).all()
        rejected = conn.execute(text("SELECT upload_id, line_no, raw, reason FROM rejected_lines"
                                     " ORDER BY upload_id, line_no")).all()
        ids = {r.id: (r.device_serial, r.pin, str(r.local_time)) for r in conn.execute(text(
            "SELECT id, device_serial, pin, local_time FROM punches"))}
    per_key: dict[str, list] = {}
    for key, topic, _, payload in events:
        data = json.loads(payload)
        body = {k: v for k, v in data.items() if k not in ("event_id", "occurred_at")}
        body["data"] = dict(body["data"], punch_ids=[ids[int(p)] for p in body["data"]["punch_ids"]])
        per_key.setdefault(key, []).append((topic, json.dumps(body, sort_keys=True)))
    digest = lambda rows: hashlib.sha256(repr(rows).encode()).hexdigest()[:16]  # noqa: E731
    return {"punches": len(punches), "punches_sha": digest([tuple(map(str, r)) for r in punches]),
            "events": len(events), "events_sha": digest(sorted(per_key.items())),
            "rejected": len(rejected), "rejected_sha": digest([tuple(map(str, r)) for r in rejected])}


def part_job(pg: str, args) -> dict:
    """The ingest job alone: uploads stored (untimed), then drained by `jobs.drain` in this process, timed."""
    from sqlalchemy import text

    from attendance import tables
    from attendance.app import build_context
    from attendance.jobs import drain
    from runtime.config import Settings
    from runtime.consumer import collect_for_polls
    from runtime.db import make_engine, make_session_factory
    from runtime.migrate import upgrade
    serials = [f"BENCH{n:05d}" for n in range(args.devices)]
    bodies = {serial: _bodies(n, args.batches, args.pins) for n, serial in enumerate(serials)}
    runs = []
    for _ in range(args.repeat):
        url = make_url(pg).set(database=f"bench_job_{uuid.uuid4().hex[:8]}").render_as_string(hide_password=False)
        upgrade("attendance", url)
        _seed(url, serials, args.pins)
        _seed_employees(url)
        _store_uploads(url, bodies)
        engine = make_engine(_named(url, "bench-job"))
        try:
            with engine.connect() as conn:  # analysed as the autovacuum would have by then
                conn.execute(text("ANALYZE"))
                conn.commit()
            sessions = make_session_factory(engine, tables.metadata)
            config = build_context(Settings.from_env("attendance", dict(os.environ, ATTENDANCE_DATABASE_URL=url)))
            opened = [sessions() for _ in range(args.job_workers)]  # the pool's connections opened: their
            for session in opened:                                  # backends are the ones measured
                session.execute(text("SELECT 1"))
            for session in opened:
                session.close()
            backends = _backends(engine, "bench-job")
            collect_for_polls()  # the collector as `jobs.run` sets it
            load = os.getloadavg()[0]
            cpu0, backend0, t0 = time.process_time(), _cpu_seconds(backends), time.perf_counter()
            report = drain(sessions, config, args.ingest_batch, workers=args.job_workers)
            elapsed = time.perf_counter() - t0
            cpu, backend_cpu = time.process_time() - cpu0, _cpu_seconds(backends) - backend0
            fingerprint = _fingerprint(engine)
        finally:
            engine.dispose()
            _drop_database(url)
        punches = report.punches
        runs.append({"elapsed_s": round(elapsed, 2), "punches_per_s": round(punches / elapsed),
                     "job_cpu_us_per_punch": round(cpu * 1e6 / punches, 1),
                     "postgres_cpu_us_per_punch": round(backend_cpu * 1e6 / punches, 1),
                     "uploads": report.uploads, "matched": report.matched, "load_average": round(load, 2),
                     "fingerprint": fingerprint})
    return {"part": "job", "devices": args.devices, "batches_per_device": args.batches, "pins": args.pins,
            "uploads_per_transaction": args.ingest_batch, "runs": runs,
            "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"}


def main() -> int:
    """Run the benchmark and print its figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=40)
    parser.add_argument("--batches", type=int, default=25, help="128-line batches per device")
    parser.add_argument("--pins", type=int, default=50, help="enrolled employees per device")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--jobs", type=int, default=1, help="ingest job processes (kinerja work attendance)")
    parser.add_argument("--job-start", choices=["during", "after"], default="during",
                        help="run the ingest job during the load (as in production) or only after it")
    parser.add_argument("--ingest-batch", type=int, default=50, help="uploads per ingest transaction")
    parser.add_argument("--rate", type=float, default=None,
                        help="punches per second offered by all devices together (default: back to back)")
    parser.add_argument("--job-nice", type=int, default=0, help="ATTENDANCE_INGEST_NICE of the ingest job")
    parser.add_argument("--no-kafka", action="store_true", help="skip the Kafka ceiling")
    parser.add_argument("--keep-db", action="store_true", help="keep the benchmark's database afterwards")
    parser.add_argument("--part", choices=["service", "job"], default="service",
                        help="the service under gunicorn with its job (default), or the ingest job alone")
    parser.add_argument("--job-workers", type=int, default=1,
                        help="--part job: loops draining side by side in the job's process (ATTENDANCE_INGEST_WORKERS)")
    parser.add_argument("--repeat", type=int, default=1, help="--part job: runs, each on a fresh database")
    args = parser.parse_args()

    pg = os.environ.get("TEST_DATABASE_URL")
    if not pg:
        print("set TEST_DATABASE_URL (eval \"$(bash deploy/postgres.sh start)\")", file=sys.stderr)
        return 2
    if args.part == "job":
        print(json.dumps(part_job(pg, args), indent=2))
        return 0
    from runtime.db import make_engine
    from runtime.migrate import upgrade
    url = make_url(pg).set(database=f"bench_attendance_{uuid.uuid4().hex[:8]}").render_as_string(hide_password=False)
    upgrade("attendance", url)
    serials = [f"BENCH{n:05d}" for n in range(args.devices)]
    _seed(url, serials, args.pins)
    bodies = {serial: _bodies(n, args.batches, args.pins) for n, serial in enumerate(serials)}

    kafka = ExitStack()  # a throwaway broker when none is named, stopped once the ceiling is measured
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap and not args.no_kafka:
        bootstrap, _ = kafka.enter_context(throwaway_kafka())

    port = _free_port()
    server_log = tempfile.NamedTemporaryFile(prefix="bench-attendance-", suffix=".log", delete=False)
    env = dict(os.environ, ATTENDANCE_DATABASE_URL=_named(url, "bench-attendance-web"), KAFKA_BOOTSTRAP_SERVERS=bootstrap or "127.0.0.1:1",
               GUNICORN_THREADS=str(args.threads), LOG_LEVEL="WARNING",
               ATTENDANCE_INGEST_BATCH=str(args.ingest_batch),
               ATTENDANCE_DEVICE_RATE_LIMIT="1000000 per minute")  # capacity is measured, not the per-device bound
    server = subprocess.Popen(gunicorn_command(port, args.workers), env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=server_log)
    engine = make_engine(url)
    jobs: list[subprocess.Popen] = []
    punches = args.devices * args.batches * BATCH
    load_before = os.getloadavg()
    try:
        _wait_ready(port)
        _seed(url, [f"WARM{n:03d}" for n in range(8)], 5, first_nip=197001012000011000)
        if args.job_start == "during":
            jobs = _start_jobs(args.jobs, env, url, args.job_nice)
        _warm_up(port, 3)
        time.sleep(2)  # the job processes have imported, connected and processed the warm-up uploads
        meter = _CpuMeter(engine, server.pid, jobs)
        latencies: list[float] = []
        errors: list = []
        start = threading.Event()
        origin = [0.0]
        schedules = {s: None for s in serials}
        if args.rate:
            interval = BATCH * args.devices / args.rate  # seconds between two batches of one device
            schedules = {s: (interval * n / args.devices, interval) for n, s in enumerate(serials)}
        threads = [threading.Thread(target=_device_worker,
                                    args=(port, s, bodies[s], latencies, errors, start, schedules[s], origin))
                   for s in serials]
        for t in threads:
            t.start()
        t0 = time.perf_counter()
        origin[0] = t0
        start.set()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        backlog = _counts(engine)[0]
        cpu_during_load = meter.used()
        if args.job_start == "after":
            jobs = _start_jobs(args.jobs, env, url, args.job_nice)
            after_t0 = time.perf_counter()
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            pending, stored, events = _counts(engine)
            if pending == 0:
                break
            time.sleep(0.1)
        drained = time.perf_counter() - t0
        if args.job_start == "after":
            meter.jobs = jobs
        cpu_total = meter.used()
        job_only = time.perf_counter() - after_t0 if args.job_start == "after" else None
        pending, stored, events = _counts(engine)
    finally:
        for job in jobs:
            job.terminate()
        server.terminate()
        for process in [*jobs, server]:
            process.wait(timeout=30)
        engine.dispose()
    load_after = os.getloadavg()
    if not args.keep_db:
        _drop_database(url)
    ceiling = None
    if bootstrap and not args.no_kafka:
        records = [json.dumps({"device_serial": serial, "line": line.decode()}).encode()
                   for serial, device_bodies in bodies.items() for body in device_bodies
                   for line in body.split(b"\r\n") if line]
        ceiling = round(_kafka_ceiling(bootstrap, records))
    kafka.close()
    ordered = sorted(latencies)
    report = {
        "devices": args.devices, "batches_per_device": args.batches, "punches": punches,
        "gunicorn_workers": args.workers, "threads_per_worker": args.threads,
        "offered_punches_per_s": args.rate or "back to back",
        "acknowledged": {
            "elapsed_s": round(elapsed, 2), "punches_per_s": round(punches / elapsed),
            "ack_p50_ms": _percentile(ordered, 0.50), "ack_p90_ms": _percentile(ordered, 0.90),
            "ack_p99_ms": _percentile(ordered, 0.99), "ack_max_ms": round(ordered[-1] * 1000, 1),
            "errors": len(errors), "error_sample": [repr(e) for e in errors[:2]],
        },
        "processed": {
            "job_processes": args.jobs, "job_started": args.job_start, "job_nice": args.job_nice, "uploads_per_transaction": args.ingest_batch,
            "pending_uploads_when_load_ended": backlog,
            "all_processed_after_s": round(drained, 2),
            "punches_per_s": round(punches / (job_only if job_only is not None else drained)),
            "punches_stored": stored, "day_events_in_outbox": events, "still_pending": pending,
        },
        "cpu_seconds_during_load": cpu_during_load,
        "cpu_seconds_until_all_processed": cpu_total,
        # the web alone while the devices post (gunicorn's processes and their PostgreSQL backends, from /proc)
        "web_cpu_ms_per_upload_during_load": {
            "python": round(cpu_during_load["web"] * 1000 / (args.devices * args.batches), 3),
            "postgres": round(cpu_during_load["postgres_for_web"] * 1000 / (args.devices * args.batches), 3),
            "total": round((cpu_during_load["web"] + cpu_during_load["postgres_for_web"]) * 1000
                           / (args.devices * args.batches), 3)},
        "cpu_ms_per_batch": {
            "acknowledge (web + its postgres)": round(
                (cpu_total["web"] + cpu_total["postgres_for_web"]) * 1000 / (args.devices * args.batches), 2),
            "process (job + its postgres)": round(
                (cpu_total["job"] + cpu_total["postgres_for_job"]) * 1000 / (args.devices * args.batches), 2),
        },
        "kafka_one_producer_records_per_s": ceiling,
        "load_average_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    if errors:
        report["server_log"] = server_log.name
    print(json.dumps(report, indent=2))
    return 1 if errors or pending or stored != punches or events != punches else 0


if __name__ == "__main__":
    sys.exit(main())
