"""The attendance service's background jobs (`kinerja work attendance`): pending device uploads to punches,
and, once a minute, building every finished local date for all employees (`days.close_finished_dates`) and
clearing the check-in coordinates whose keeping time is over (`checkins.forget_old_coordinates`).

The upload request only stores the raw body durably and acknowledges it; this loop claims pending
uploads in batches (`ATTENDANCE_INGEST_BATCH` uploads per transaction, default 50; the process runs at
nice level `ATTENDANCE_INGEST_NICE`, default 0) and processes them
with `ingest.process_pending`, one transaction per batch, so a crash re-processes that batch and adds
nothing. Several job processes may run side by side: a claimed upload is skipped by the others.

When nothing is pending it does not sleep on a timer: on PostgreSQL the upload's own statement NOTIFYs
`store.UPLOADS_CHANNEL` and the job waits on it (`runtime.wakeup`), so an upload is picked up as soon as
it is committed; it still looks every `IDLE_POLL_S` (an approval makes a device's held uploads pending, and
a notification is lost if the listening connection drops). SQLite polls every `IDLE_WAIT_S`.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from datetime import UTC, datetime

from prometheus_client import Counter

from attendance import tables
from attendance.store import UPLOADS_CHANNEL
from attendance.app import build_context
from attendance.config import AttendanceConfig, whole_setting
from attendance.handlers import checkins, days, ingest
from runtime.config import Settings
from runtime.db import make_engine, make_session_factory
from runtime.uow import unit_of_work
from runtime.wakeup import Wakeup

log = logging.getLogger(__name__)
PROCESSED = Counter("kinerja_attendance_uploads_processed_total", "Device uploads turned into punches")
PUNCHES = Counter("kinerja_attendance_punches_stored_total", "New punches stored from device uploads")
IDLE_WAIT_S = 0.2  # SQLite: no notifications, a poll
IDLE_POLL_S = 1.0  # PostgreSQL: the safety net behind the notifications
ERROR_WAIT_S = 2.0
CLOSE_DATES_EVERY_S = 60.0


def drain(sessions, config: AttendanceConfig, batch: int = 50,
          stop: threading.Event | None = None) -> ingest.IngestReport:
    """Process pending uploads batch by batch until none is left (or `stop` is set); return the totals."""
    totals = ingest.IngestReport()
    while stop is None or not stop.is_set():
        with unit_of_work(sessions) as session:
            report = ingest.process_pending(session, config, datetime.now(UTC), limit=batch)
        PROCESSED.inc(report.uploads)
        PUNCHES.inc(report.punches)
        totals += report
        if report.uploads < batch:
            break
    return totals


def run(settings: Settings, stop: threading.Event) -> None:
    """Process pending uploads until `stop` is set; when there is nothing to do, wait for the next upload's commit."""
    config = build_context(settings)
    batch = whole_setting(settings, "ATTENDANCE_INGEST_BATCH", 50, 1, 1000)
    # Devices wait for their acknowledgement, nobody waits for this job: where both share a machine the
    # job may be told to yield the CPU to the request path (it made no measurable difference on 2 cores).
    niceness = whole_setting(settings, "ATTENDANCE_INGEST_NICE", 0, 0, 19)
    if niceness:
        os.nice(niceness)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine, tables.metadata)
    log.info("attendance ingest job started", extra={"batch": batch})
    next_close = 0.0
    wakeup = Wakeup(engine, UPLOADS_CHANNEL, poll_s=IDLE_POLL_S, fallback_s=IDLE_WAIT_S)
    try:
        while not stop.is_set():
            try:
                wakeup.listen()  # before looking: an upload committed after this wakes the wait below
                drain(sessions, config, batch, stop)
                if time.monotonic() >= next_close:
                    with unit_of_work(sessions) as session:
                        closed = days.close_finished_dates(session, config, datetime.now(UTC))
                        forgotten = checkins.forget_old_coordinates(session, datetime.now(UTC))
                    if forgotten:
                        log.info("check-in coordinates past their keeping time cleared", extra={"checkins": forgotten})
                    if closed:
                        log.info("local dates built for every employee", extra={"dates": [str(d) for d in closed]})
                    next_close = time.monotonic() + CLOSE_DATES_EVERY_S
            except Exception:  # noqa: BLE001 - the batch stays pending and is retried
                log.exception("processing pending uploads failed; retrying")
                stop.wait(ERROR_WAIT_S)
                continue
            wakeup.wait(stop)
    finally:
        wakeup.close()
        engine.dispose()
