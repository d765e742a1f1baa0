"""`kinerja up` supervises the local Kafka broker it starts: a broker killed with SIGKILL is restarted by
supervisord, and a punch batch a device posts afterwards is recorded, its days built and published."""
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.attendance_ingest import BATCH, _bodies, _seed
from bench.crash_campaign import _counts
from runtime.broker import local_broker_on
from runtime.migrate import upgrade
from runtime.supervision import states

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(720)]
PROGRAMS = {"kafka", "attendance.web", "attendance.relay", "attendance.consumer", "attendance.work"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _free_pair() -> int:
    """A port whose successor is free too (the broker's controller)."""
    while True:
        port = _free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue


def _wait(predicate, timeout_s, what):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:  # supervisord's socket or the web not there yet
            pass
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def _post(port: int, serial: str, body: bytes) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", f"/iclock/cdata?SN={serial}&table=ATTLOG&Stamp=1", body=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        return conn.getresponse().read()
    finally:
        conn.close()


def test_a_killed_broker_is_restarted_and_a_punch_posted_afterwards_is_published(pg_server_url, tmp_path):
    database = f"t_supervised_broker_{uuid.uuid4().hex[:8]}"
    url = make_url(pg_server_url).set(database=database).render_as_string(hide_password=False)
    upgrade("attendance", url)
    serial = f"SUP{uuid.uuid4().hex[:8].upper()}"
    _seed(url, [serial], pins=5)
    kafka_port, web_port = _free_pair(), _free_port()
    broker = local_broker_on(kafka_port)
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL") and k != "KAFKA_BOOTSTRAP_SERVERS"}
    env.update(ATTENDANCE_DATABASE_URL=url, KINERJA_DATA_DIR=str(tmp_path))
    with open(tmp_path / "up.log", "wb") as out:
        up = subprocess.Popen([sys.executable, "-m", "runtime.cli", "up", "attendance", "--workers", "1",
                               "--port-offset", str(web_port - 8001), "--kafka-port", str(kafka_port)],
                              env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    run_dir = tmp_path / "supervisor"
    engine = create_engine(url)
    try:
        _wait(lambda: {n for n, (s, _) in states(run_dir).items() if s == "RUNNING"} == PROGRAMS, 300,
              "every program, the broker too, to run")
        killed = states(run_dir)["kafka"][1]
        os.kill(killed, signal.SIGKILL)
        _wait(lambda: states(run_dir)["kafka"][0] == "RUNNING" and states(run_dir)["kafka"][1] != killed, 180,
              "supervisord to restart the broker")
        body = _bodies(0, 1, 5)[0]
        _wait(lambda: _post(web_port, serial, body) == f"OK: {BATCH}".encode(), 120, "the device's batch to be taken")
        # the five people's days built with their punches, and their events sent to the restarted broker
        _wait(lambda: (c := _counts(engine))["punches"] == BATCH and c["days"] == 5 and c["unsent"] == 0, 300,
              "the punches' days to be built and published after the broker's restart")
        assert up.poll() is None
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGINT)
            try:
                up.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(up.pid, signal.SIGKILL)
                up.wait()
        engine.dispose()
        admin = create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(broker.home, ignore_errors=True)
        print((tmp_path / "up.log").read_text(errors="replace")[-3000:])
