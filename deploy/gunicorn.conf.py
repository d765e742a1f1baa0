"""Gunicorn settings shared by every service (metrics aggregated across workers)."""
import os
import tempfile

from runtime.metrics import mark_dead, use_process_files

worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 60
graceful_timeout = 20
accesslog = None  # the app logs each request itself, as JSON with its request id (runtime.web)
errorlog = "-"
# Each gunicorn its own control socket: the default is one path per user, which two services on one
# host would fight over.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or os.path.join(
    tempfile.gettempdir(), f"kinerja-gunicorn-{os.getpid()}.ctl")

use_process_files()  # in the master, before any worker is forked: file names carry host name and pid


def child_exit(server, worker):
    """Tell prometheus-client a worker is gone so its live gauges are dropped."""
    mark_dead(worker.pid)
