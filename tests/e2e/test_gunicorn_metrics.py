"""A service's metrics summed over all its processes.

Under gunicorn with several workers, /metrics counts every request, whichever worker served it. Workers are
recycled every 10 requests, so the 60 requests are served by at least six worker processes, most of them
gone by the time of the scrape: their counts must still be in the total.

In docker-compose every container's process is PID 1 and the web, relay, consumer and job containers of a
service share one metrics directory: two such processes must not write the same file.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
# Generous on purpose: on a loaded machine a worker being recycled, or the scrape reading every dead
# worker's file, can take seconds. Only how long we wait changes with load, never what is asserted.
READ_TIMEOUT_S = 60


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_metrics_aggregate_across_gunicorn_workers(tmp_path):
    port = _free_port()
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), KINERJA_DATA_DIR=str(tmp_path),
               KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1", GUNICORN_THREADS="1")
    subprocess.run([sys.executable, "-m", "runtime.cli", "migrate", "directory"], env=env, check=True,
                   capture_output=True)
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
                               "-b", f"127.0.0.1:{port}", "-w", "2", "--max-requests", "10",
                               "directory.app:create_app()"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                requests.get(f"{base}/healthz", timeout=(2, READ_TIMEOUT_S))
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        session = requests.Session()
        for _ in range(60):
            assert session.get(f"{base}/healthz", headers={"Connection": "close"}, timeout=READ_TIMEOUT_S).status_code == 200
        pids = {p.name.split("_")[-1] for p in metrics_dir.glob("counter_*.db")}
        text = requests.get(f"{base}/metrics", timeout=READ_TIMEOUT_S).text
    finally:
        server.terminate()
        server.wait(timeout=30)
    served = sum(float(v) for v in re.findall(
        r'kinerja_http_requests_total\{[^}]*endpoint="/healthz"[^}]*status="200"[^}]*\} (\S+)', text))
    assert served >= 61  # the 60 requests plus the start-up probe, all summed across workers
    assert len(pids) >= 6, "workers were not recycled; the aggregation was not exercised"


WRITER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from runtime.metrics import use_process_files
    use_process_files()
    from prometheus_client import Counter
    counter = Counter("kinerja_test_writes", "increments by one process", ["job"])
    child = counter.labels("shared")
    child.inc(0)  # the value exists (read from its file) before the other writer starts
    Path(sys.argv[1], "ready-" + sys.argv[2]).write_text(str(os.getpid()))
    while not Path(sys.argv[1], "go").exists():
        time.sleep(0.01)
    for _ in range(1000):
        child.inc()
""")


def test_two_containers_whose_processes_are_both_pid_1_keep_both_counts(tmp_path):
    """Two writers, each PID 1 in its own PID namespace with its own host name (as in two containers),
    sharing one metrics directory, 1,000 increments each: the sum is 2,000, not 1,000."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare(1) to give two processes PID 1, as containers do")
    metrics_dir, sync = tmp_path / "prometheus", tmp_path / "sync"
    metrics_dir.mkdir()
    sync.mkdir()
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    writers = [subprocess.Popen(["unshare", "--uts", "--pid", "--fork", "sh", "-c",
                                 f'hostname {host} && exec "$0" -c "$1" "$2" "$3"', sys.executable, WRITER,
                                 str(sync), host], env=env, stderr=subprocess.PIPE, text=True)
               for host in ("attendance-web", "attendance-relay")]
    deadline = time.monotonic() + 60
    while len(list(sync.glob("ready-*"))) < 2:
        failed = [w for w in writers if w.poll() not in (None, 0)]
        assert not failed, failed[0].stderr.read()
        assert time.monotonic() < deadline, "the writers did not start"
        time.sleep(0.05)
    assert {p.read_text() for p in sync.glob("ready-*")} == {"1"}, "each writer must be PID 1"
    (sync / "go").touch()
    for writer in writers:
        assert writer.wait(timeout=60) == 0, writer.stderr.read()
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(metrics_dir))
    assert registry.get_sample_value("kinerja_test_writes_total", {"job": "shared"}) == 2000
    assert len(list(metrics_dir.glob("counter_*.db"))) == 2
