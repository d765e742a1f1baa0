"""Prometheus metrics of a service: per-process files, and the registry `/metrics` serves.

Every process of a service (its gunicorn workers, relay, consumer and jobs) writes its counters to files in
the service's `PROMETHEUS_MULTIPROC_DIR`; `/metrics` sums them. prometheus-client names those files after
the process id, but in a container every process is PID 1, and the containers of one service share the
volume: their files would be the same file and their counts would overwrite each other. So each file is
named after the host name *and* the process id (`use_process_files`), which is unique across containers.

Gauges of state (what is waiting, how old, how far behind) are not counted per process: collectors
(`runtime.monitoring`) query the database or the broker when Prometheus scrapes, once per scrape.
"""
from __future__ import annotations

import os
import socket

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess, values

_installed: dict[str, str] = {}


def process_identifier() -> str:
    """This process's name among all the processes writing one metrics directory: host name and pid.

    '_' separates the parts of prometheus-client's file names, so it is kept out of the identifier."""
    host = _installed.get("host") or socket.gethostname().replace("_", "-")
    return f"{host}-{os.getpid()}"


def use_process_files() -> None:
    """Make this process write its metric files under `process_identifier()` (idempotent; a no-op outside
    multiprocess mode). Call it before the first metric value is created: at the start of a process, in
    gunicorn's master before it forks (each worker then gets its own pid in the name)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR") or _installed:
        return
    _installed["host"] = socket.gethostname().replace("_", "-")
    values.ValueClass = values.MultiProcessValue(process_identifier)


def mark_dead(pid: int) -> None:
    """Drop the live gauges of a gunicorn worker that exited (its counters stay in the sums)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        host = _installed.get("host") or socket.gethostname().replace("_", "-")
        multiprocess.mark_process_dead(f"{host}-{pid}")


class _ThisProcess:
    """The metrics of this process alone (outside multiprocess mode)."""

    def collect(self):
        yield from REGISTRY.collect()


def exposition(collectors=()) -> tuple[bytes, str]:
    """The text `/metrics` answers: every process's counters (summed over the directory in multiprocess
    mode) and the scrape-time `collectors`. Returns (body, content type)."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST
