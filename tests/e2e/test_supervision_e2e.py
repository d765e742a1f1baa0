"""`kinerja up` supervises its processes: a relay killed with SIGKILL comes back and nothing else moves;
SIGINT (Ctrl-C) still stops every process."""
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from runtime.supervision import states

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(420)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout_s, what):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:  # supervisord's socket is not there yet
            pass
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is dead too
        return stat.read().split(") ", 1)[1][0] != "Z"


def test_a_killed_relay_is_restarted_and_ctrl_c_still_stops_everything(kafka_bootstrap, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update(KINERJA_DATA_DIR=str(tmp_path), KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap)
    offset = _free_port() - 8001  # attendance's web on a free port, beside any other stack
    with open(tmp_path / "up.log", "wb") as out:
        up = subprocess.Popen([sys.executable, "-m", "runtime.cli", "up", "attendance", "--workers", "1",
                               "--port-offset", str(offset)], env=env, stdout=out, stderr=subprocess.STDOUT,
                              start_new_session=True)
    run_dir = tmp_path / "supervisor"
    programs = {"attendance.web", "attendance.relay", "attendance.consumer", "attendance.work"}
    try:
        _wait(lambda: {n for n, (state, _) in states(run_dir).items() if state == "RUNNING"} == programs,
              240, "every program to run")
        before = {name: pid for name, (_, pid) in states(run_dir).items()}
        os.kill(before["attendance.relay"], signal.SIGKILL)
        _wait(lambda: states(run_dir)["attendance.relay"] == ("RUNNING", states(run_dir)["attendance.relay"][1])
              and states(run_dir)["attendance.relay"][1] != before["attendance.relay"], 120, "the relay to come back")
        after = {name: pid for name, (_, pid) in states(run_dir).items()}
        assert after["attendance.relay"] != before["attendance.relay"]
        assert {n: p for n, p in after.items() if n != "attendance.relay"} == \
               {n: p for n, p in before.items() if n != "attendance.relay"}, "another process was restarted"
        assert up.poll() is None
        up.send_signal(signal.SIGINT)
        assert up.wait(timeout=120) == 0
        survivors = [pid for pid in {*before.values(), *after.values()} if _alive(pid)]
        assert survivors == [], f"still running after Ctrl-C: {survivors}"
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()
        print((tmp_path / "up.log").read_text(errors="replace")[-3000:])
