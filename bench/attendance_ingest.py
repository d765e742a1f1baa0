"""Benchmark: many fingerprint devices posting 128-line ATTLOG batches to the attendance service.

Runs the service under gunicorn on PostgreSQL (a fresh database), replays `--devices` devices each
posting `--batches` batches of 128 records over keep-alive HTTP connections, and reports punches
acknowledged per second and the latency of each acknowledgement (p50/p99). In the same run it measures
the ceiling of one kafka-python producer sending the same records straight to Kafka.

    eval "$(bash deploy/postgres.sh start)"
    .venv/bin/python bench/attendance_ingest.py --devices 40 --batches 25 --workers 3
(`KAFKA_BOOTSTRAP_SERVERS` names a broker; without it a throwaway local broker is started.)
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
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


def _seed(url: str, serials: list[str], pins: int) -> None:
    """Approved devices, each with `pins` enrolled employees."""
    from attendance import tables
    from runtime.db import make_engine, make_session_factory
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
                nip = str(198001012005011000 + d * 1000 + pin)  # 18 digits, unique per device and PIN
                rows.append({"device_serial": serial, "pin": str(pin), "employee_id": nip, "name": "", "active": True})
        session.execute(insert(tables.enrolments), rows)
    engine.dispose()


def _device_worker(port: int, serial: str, bodies: list[bytes], latencies: list, errors: list, start: threading.Event):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    start.wait()
    for stamp, body in enumerate(bodies, start=1):
        t0 = time.perf_counter()
        conn.request("POST", f"/iclock/cdata?SN={serial}&table=ATTLOG&Stamp={stamp}", body=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        reply = response.read()
        latencies.append(time.perf_counter() - t0)
        if response.status != 200 or reply != f"OK: {BATCH}".encode():
            errors.append((response.status, reply[:100]))
    conn.close()


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


def main() -> int:
    """Run the benchmark and print its figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=40)
    parser.add_argument("--batches", type=int, default=25, help="128-line batches per device")
    parser.add_argument("--pins", type=int, default=50, help="enrolled employees per device")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    args = parser.parse_args()

    pg = os.environ.get("TEST_DATABASE_URL")
    if not pg:
        print("set TEST_DATABASE_URL (eval \"$(bash deploy/postgres.sh start)\")", file=sys.stderr)
        return 2
    from runtime.migrate import upgrade
    url = make_url(pg).set(database=f"bench_attendance_{uuid.uuid4().hex[:8]}").render_as_string(hide_password=False)
    upgrade("attendance", url)
    serials = [f"BENCH{n:05d}" for n in range(args.devices)]
    _seed(url, serials, args.pins)
    bodies = {serial: _bodies(n, args.batches, args.pins) for n, serial in enumerate(serials)}

    broker = None
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        from runtime.broker import Broker
        broker = Broker(home=Path(tempfile.mkdtemp(prefix="bench-kafka-")), port=_free_port(),
                        controller_port=_free_port()).start()
        bootstrap = broker.bootstrap

    port = _free_port()
    env = dict(os.environ, ATTENDANCE_DATABASE_URL=url, KAFKA_BOOTSTRAP_SERVERS=bootstrap,
               GUNICORN_THREADS=str(args.threads), LOG_LEVEL="WARNING")
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
                               "-b", f"127.0.0.1:{port}", "-w", str(args.workers), "attendance.app:create_app()"],
                              env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_ready(port)
        latencies: list[float] = []
        errors: list = []
        start = threading.Event()
        threads = [threading.Thread(target=_device_worker, args=(port, s, bodies[s], latencies, errors, start))
                   for s in serials]
        for t in threads:
            t.start()
        t0 = time.perf_counter()
        start.set()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
    finally:
        server.terminate()
        server.wait(timeout=30)
    punches = args.devices * args.batches * BATCH
    records = [json.dumps({"device_serial": serial, "line": line.decode()}).encode()
               for serial, device_bodies in bodies.items() for body in device_bodies
               for line in body.split(b"\r\n") if line]
    ceiling = _kafka_ceiling(bootstrap, records)
    if broker:
        broker.stop()
        broker.wipe()
    ordered = sorted(latencies)
    report = {
        "devices": args.devices, "batches_per_device": args.batches, "punches": punches,
        "gunicorn_workers": args.workers, "threads_per_worker": args.threads,
        "elapsed_s": round(elapsed, 2), "punches_per_s": round(punches / elapsed),
        "ack_p50_ms": round(statistics.median(ordered) * 1000, 1),
        "ack_p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 1),
        "errors": len(errors), "kafka_one_producer_records_per_s": round(ceiling),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    print(json.dumps(report, indent=2))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
