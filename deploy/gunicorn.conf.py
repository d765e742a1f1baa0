"""Gunicorn settings shared by every service (metrics aggregated across workers)."""
import os

worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 60
graceful_timeout = 20
accesslog = None
errorlog = "-"


def child_exit(server, worker):
    """Tell prometheus-client a worker is gone so its live gauges are dropped."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)
