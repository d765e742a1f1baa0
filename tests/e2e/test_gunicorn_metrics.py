"""A service under gunicorn with several workers: /metrics counts every request, whichever worker served it.

Workers are recycled every 10 requests, so the 60 requests are served by at least six worker processes,
most of them gone by the time of the scrape: their counts must still be in the total.
"""
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

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
