"""Crash campaign: random kill -9 of the attendance relay, consumer and ingest job under device load, plus a
broker killed and restarted, on PostgreSQL and a broker of its own; then checks that nothing was lost or
applied twice.

`kinerja up attendance` runs the processes under supervisord (which restarts each killed one); devices post
128-line ATTLOG batches over HTTP the whole time. At the end, once the platform has caught up:
- every acknowledged line is one punch (the punches table is unique per device, PIN and time, and holds
  exactly the acknowledged lines);
- no upload is left pending and no outbox row unsent;
- every punch's day was built with it: a rebuild from scratch of every punched date (rolled back) changes no
  day and finds none missing, after kills between the punches' commit and anything after it;
- every dead-letter topic on the broker is empty.

    eval "$(bash deploy/postgres.sh start)"
    .venv/bin/python bench/crash_campaign.py --kills 100
(the PostgreSQL server is TEST_DATABASE_URL or DATABASE_URL). Prints a JSON report; exits 1 if a check fails.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "services"), str(ROOT)]

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.attendance_ingest import BATCH, _bodies, _seed  # noqa: E402

TARGETS = ("attendance.relay", "attendance.consumer", "attendance.work")
PROGRAMS = {"attendance.web", *TARGETS}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"timed out after {timeout_s:.0f}s waiting for {what}")


class Devices:
    """Devices posting their logs in batches, each after a pause; what was acknowledged is counted."""

    def __init__(self, port: int, serials: list[str], batches: int, pins: int, pause_s: float):
        self.port, self.pause_s = port, pause_s
        self.logs = {serial: _bodies(i, batches, pins) for i, serial in enumerate(serials)}
        self.acknowledged = 0
        self.refused: list = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._post, args=(s,), daemon=True) for s in serials]

    def _post(self, serial: str) -> None:
        for n, body in enumerate(self.logs[serial]):
            for _ in range(20):  # a device posts the same batch again until it is answered OK
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                    conn.request("POST", f"/iclock/cdata?SN={serial}&table=ATTLOG&Stamp={n + 1}", body=body,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
                    response = conn.getresponse()
                    reply = response.read()
                    conn.close()
                except OSError as exc:
                    reply = repr(exc).encode()
                if reply == f"OK: {BATCH}".encode():
                    with self.lock:
                        self.acknowledged += BATCH
                    break
                self.refused.append(reply[:100])
                time.sleep(1)
            time.sleep(self.pause_s)

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def alive(self) -> bool:
        return any(thread.is_alive() for thread in self.threads)


def _dead_letters(bootstrap: str) -> int:
    """Records on every dead-letter topic of the broker."""
    from kafka import KafkaConsumer, TopicPartition
    reader = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for topic in reader.topics() if topic.endswith(".dlq")
                      for p in reader.partitions_for_topic(topic) or ()]
        ends = reader.end_offsets(partitions) if partitions else {}
        return sum(ends.values())
    finally:
        reader.close()


def _counts(engine) -> dict:
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT (SELECT count(*) FROM raw_uploads WHERE processed_at IS NULL) AS pending,"
            " (SELECT count(*) FROM punches) AS punches,"
            " (SELECT count(*) FROM outbox) AS unsent,"
            " (SELECT count(*) FROM days) AS days")).one()
    return dict(row._mapping)


def _stale_days(url: str) -> int:
    """The days a rebuild from scratch of every employee's punched dates (and the dates either side) would write or
    change, rolled back: 0 when each punch's day was built with it."""
    from collections import defaultdict
    from datetime import timedelta

    from sqlalchemy import select

    from attendance import tables
    from attendance.app import build_context
    from attendance.handlers import days
    from runtime.config import Settings
    from runtime.db import make_engine, make_session_factory
    engine = make_engine(url)
    try:
        config = build_context(Settings.from_env("attendance", dict(os.environ, ATTENDANCE_DATABASE_URL=url)))
        with make_session_factory(engine, tables.metadata)() as session:
            p = tables.punches.c
            wanted = defaultdict(set)
            for employee_id, local_date in session.execute(select(p.employee_id, p.local_date).where(
                    p.employee_id.is_not(None)).distinct()):
                wanted[employee_id].update(local_date + timedelta(days=n) for n in (-1, 0, 1))
            changed = days.rebuild_many(session, wanted, config)
            session.rollback()
        return len(changed)
    finally:
        engine.dispose()


def campaign(server_url: str, kills: int = 20, devices: int = 4, batches: int = 12, pins: int = 20,
             pause_s: float = 1.0, interval_s: tuple[float, float] = (1.0, 3.0), outage_s: float = 5.0,
             seed: int | None = None, catch_up_s: float = 600, log=print) -> dict:
    """Run one campaign and return its report (`ok` tells whether every check held)."""
    from runtime.broker import Broker
    from runtime.kafka import ensure_topics
    from runtime.migrate import upgrade
    from runtime.supervision import states

    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="kinerja-crash-"))
    database = f"crash_{uuid.uuid4().hex[:10]}"
    url = make_url(server_url).set(database=database).render_as_string(hide_password=False)
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    broker = Broker(home=work / "kafka", port=_free_port(), controller_port=_free_port())
    up = None
    started = time.monotonic()
    try:
        broker.start()
        ensure_topics(broker.bootstrap)
        upgrade("attendance", url)
        serials = [f"CRASH{n:03d}{uuid.uuid4().hex[:6].upper()}" for n in range(devices)]
        _seed(url, serials, pins)
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
        env.update(ATTENDANCE_DATABASE_URL=url, KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap, KINERJA_DATA_DIR=str(work),
                   ATTENDANCE_INGEST_NICE="0")
        with open(work / "up.log", "wb") as out:
            up = subprocess.Popen([sys.executable, "-m", "runtime.cli", "up", "attendance", "--workers", "2",
                                   "--port-offset", str(port - 8001)], env=env, cwd=ROOT, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        run_dir = work / "supervisor"
        _wait(lambda: {n for n, (s, _) in states(run_dir).items() if s == "RUNNING"} == PROGRAMS, 240,
              "every program to run")
        load = Devices(port, serials, batches, pins, pause_s)
        load.start()
        killed: Counter = Counter()
        broker_restarts = 0
        while sum(killed.values()) < kills:
            time.sleep(rng.uniform(*interval_s))
            running = {n: pid for n, (s, pid) in states(run_dir).items() if n in TARGETS and s == "RUNNING"}
            if not running:
                continue
            name = rng.choice(sorted(running))
            try:
                os.kill(running[name], signal.SIGKILL)
            except ProcessLookupError:
                continue
            killed[name] += 1
            if sum(killed.values()) == kills // 2 and not broker_restarts:
                log(f"{sum(killed.values())} kills; killing the broker for {outage_s:.0f}s")
                broker.kill()
                time.sleep(outage_s)
                broker.start()
                broker_restarts += 1
        log(f"{kills} kills done in {time.monotonic() - started:.0f}s; waiting for the load and the catch-up")
        _wait(lambda: not load.alive(), 600, "the devices to finish")
        engine = create_engine(url)
        load_done = time.monotonic()
        try:  # a platform that never catches up is a failed check, reported with what it still lacks
            _wait(lambda: (c := _counts(engine))["pending"] == 0 and c["unsent"] == 0, catch_up_s,
                  "the platform to catch up")
            _wait(lambda: {n for n, (s, _) in states(run_dir).items() if s == "RUNNING"} == PROGRAMS, 120,
                  "every program to run again")
        except TimeoutError as exc:
            log(str(exc))
        catch_up_seconds = round(time.monotonic() - load_done, 1)
        counts = _counts(engine)
        engine.dispose()
        stale = _stale_days(url)
        dead = _dead_letters(broker.bootstrap)
        checks = {
            "every acknowledged line is one punch": counts["punches"] == load.acknowledged,
            "no upload pending, no outbox row unsent": counts["pending"] == 0 and counts["unsent"] == 0,
            "every punch's day built with it": stale == 0,
            "every dead-letter topic empty": dead == 0,
        }
        return {"ok": all(checks.values()), "checks": checks, "kills": sum(killed.values()),
                "kills_by_process": dict(killed), "broker_restarts": broker_restarts,
                "acknowledged_lines": load.acknowledged, "device_retries": len(load.refused), **counts,
                "stale_days": stale, "dead_letters": dead, "catch_up_seconds": catch_up_seconds,
                "seconds": round(time.monotonic() - started, 1),
                "machine": f"{platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"}
    finally:
        if up is not None and up.poll() is None:
            up.send_signal(signal.SIGINT)
            try:
                up.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(up.pid, signal.SIGKILL)
                up.wait()
        broker.stop()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
        broker.wipe()
        if os.environ.get("KINERJA_CRASH_KEEP_LOGS"):
            log(f"logs kept in {work}")
        else:
            import shutil
            shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--devices", type=int, default=8)
    parser.add_argument("--batches", type=int, default=40, help="128-line batches per device")
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between a device's batches")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--catch-up", type=float, default=1800, help="seconds allowed to catch up after the load")
    args = parser.parse_args()
    server = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not server:
        parser.error("set TEST_DATABASE_URL or DATABASE_URL to a PostgreSQL server")
    report = campaign(server, kills=args.kills, devices=args.devices, batches=args.batches, pause_s=args.pause,
                      seed=args.seed, catch_up_s=args.catch_up, log=lambda m: print(m, file=sys.stderr, flush=True))
    print(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
