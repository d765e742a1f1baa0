"""The attendance service's background jobs (`kinerja work attendance`): pending device uploads to punches
(the process's main loop), and beside it, in a thread of its own, the nightly build of every finished local date
for all active employees (`close_finished_dates`) and the clearing of the check-in coordinates whose keeping
time is over (`checkins.forget_old_coordinates`), looked at once a minute (`keep_days`).

The upload request only stores the raw body durably and acknowledges it; this loop claims pending
uploads in batches (`ATTENDANCE_INGEST_BATCH` uploads per transaction, default 50; the process runs at
nice level `ATTENDANCE_INGEST_NICE`, default 0) and processes them
with `ingest.process_pending`, one transaction per batch, so a crash re-processes that batch and adds
nothing. Several job processes may run side by side: a claimed upload is skipped by the others. Within a process,
`ATTENDANCE_INGEST_WORKERS` loops (default 2; one on SQLite) drain side by side, each on a connection of its own.

When nothing is pending it does not sleep on a timer: on PostgreSQL the upload's own statement NOTIFYs
`store.UPLOADS_CHANNEL` and the job waits on it (`runtime.wakeup`), so an upload is picked up as soon as
it is committed; it still looks every `IDLE_POLL_S` (an approval makes a device's held uploads pending, and
a notification is lost if the listening connection drops). SQLite polls every `IDLE_WAIT_S`.

The nightly build gives everyone a day (absent, leave, holiday or off when nobody punched) for each finished
date (`days.dates_to_close`). With a national roster that takes minutes, so it never holds up the uploads: it
runs beside their loop, commits one chunk of employees at a time (`days.build_next_chunk`, 1,000 per
transaction) and marks the date closed (`days.close_date`) only once every chunk is built. A build stopped or
crashed half-way starts that date again: the chunks already built change nothing and publish nothing (their
content is compared). Of several job processes, only the holder of the `DAYS_LEASE` lease builds and clears
(`runtime.lease`; the others stand by and take over if it goes away); on SQLite every process may, and a date
closed twice stays closed once.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime

from prometheus_client import Counter, Histogram

from attendance import tables
from attendance.store import UPLOADS_CHANNEL
from attendance.app import build_context
from attendance.config import AttendanceConfig, whole_setting
from attendance.handlers import checkins, days, ingest
from runtime.config import Settings
from runtime.consumer import collect_for_polls
from runtime.db import make_engine, make_session_factory
from runtime.lease import Lease
from runtime.uow import unit_of_work
from runtime.wakeup import Wakeup

log = logging.getLogger(__name__)
PROCESSED = Counter("kinerja_attendance_uploads_processed_total", "Device uploads turned into punches")
PUNCHES = Counter("kinerja_attendance_punches_stored_total", "New punches stored from device uploads")
IDLE_WAIT_S = 0.2  # SQLite: no notifications, a poll
IDLE_POLL_S = 1.0  # PostgreSQL: the safety net behind the notifications
ERROR_WAIT_S = 2.0
DATES_CLOSED = Counter("kinerja_attendance_dates_closed_total", "Finished local dates built for every active employee")
DATE_EMPLOYEES = Counter("kinerja_attendance_date_build_employees_total",
                         "Employees whose day of a finished local date the nightly build built")
DATE_DAYS_CHANGED = Counter("kinerja_attendance_date_build_days_changed_total",
                            "Days the nightly build changed (and published)")
DATE_SECONDS = Histogram("kinerja_attendance_date_build_seconds",
                         "Time to build one finished local date for every active employee",
                         buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600))
CLOSE_DATES_EVERY_S = 60.0
DAYS_LEASE = "kinerja-days:attendance"  # the one job process that builds the finished dates and clears coordinates


def drain(sessions, config: AttendanceConfig, batch: int = 50, stop: threading.Event | None = None,
          workers: int = 1) -> ingest.IngestReport:
    """Process pending uploads batch by batch until none is left (or `stop` is set); return the totals.

    With `workers` > 1, that many loops drain side by side, this thread and `workers - 1` others, each batch in a
    transaction of its own on a connection of its own, as several job processes would (a claimed upload is skipped
    by the others): while one loop waits on PostgreSQL for its statements, another runs its Python. The first
    failure is raised once every loop has stopped."""
    if workers == 1:
        return _drain_loop(sessions, config, batch, stop)
    reports: list[ingest.IngestReport] = []
    failures: list[Exception] = []

    def other_loop() -> None:
        try:
            reports.append(_drain_loop(sessions, config, batch, stop))
        except Exception as failure:  # noqa: BLE001 - raised below, in the caller's thread
            failures.append(failure)

    others = [threading.Thread(target=other_loop, name=f"attendance-ingest-{n}", daemon=True)
              for n in range(1, workers)]
    for thread in others:
        thread.start()
    try:
        reports.append(_drain_loop(sessions, config, batch, stop))
    finally:
        for thread in others:
            thread.join()
    if failures:
        raise failures[0]
    return sum(reports, ingest.IngestReport())


def _drain_loop(sessions, config: AttendanceConfig, batch: int,
                stop: threading.Event | None) -> ingest.IngestReport:
    """One loop of `drain`: batch after batch until a batch comes back short (or `stop` is set)."""
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


def close_finished_dates(sessions, config: AttendanceConfig, now: datetime,
                         go_on: Callable[[], bool] | None = None) -> list[date]:
    """Build every finished local date not yet closed for all active employees, one transaction per chunk of
    employees, and close each date once all its chunks are built; return the dates closed. Stops between two
    chunks when `go_on()` turns False (the date is left open, and built again from its start next time)."""
    with unit_of_work(sessions) as session:
        dates = days.dates_to_close(session, config, now)
    closed = []
    for local_date in dates:
        started = time.monotonic()
        after, employees, changed = None, 0, 0
        while True:
            if go_on is not None and not go_on():
                return closed
            with unit_of_work(sessions) as session:
                after, built, days_changed = days.build_next_chunk(session, local_date, config, after)
            if after is None:
                break
            employees += built
            changed += days_changed
            DATE_EMPLOYEES.inc(built)
            DATE_DAYS_CHANGED.inc(days_changed)
        with unit_of_work(sessions) as session:
            days.close_date(session, local_date, datetime.now(UTC), employees)
        seconds = time.monotonic() - started
        DATES_CLOSED.inc()
        DATE_SECONDS.observe(seconds)
        log.info("local date built for every employee", extra={"local_date": str(local_date), "employees": employees,
                                                               "days_changed": changed, "seconds": round(seconds, 1)})
        closed.append(local_date)
    return closed


def keep_days(sessions, config: AttendanceConfig, halt: threading.Event) -> None:
    """Until `halt` is set, every `CLOSE_DATES_EVERY_S` while this process holds `DAYS_LEASE`: clear the check-in
    coordinates past their keeping time, then build and close the finished dates (`close_finished_dates`)."""
    lease = Lease(sessions.kw["bind"], DAYS_LEASE)
    try:
        while not halt.is_set():
            if lease.held():
                try:
                    with unit_of_work(sessions) as session:
                        forgotten = checkins.forget_old_coordinates(session, datetime.now(UTC))
                    if forgotten:
                        log.info("check-in coordinates past their keeping time cleared", extra={"checkins": forgotten})
                    close_finished_dates(sessions, config, datetime.now(UTC),
                                         lambda: not halt.is_set() and lease.held())
                except Exception:  # noqa: BLE001 - the date stays open and is built again at the next look
                    log.exception("building the finished local dates failed; retrying")
            halt.wait(CLOSE_DATES_EVERY_S)
    finally:
        lease.close()


def run(settings: Settings, stop: threading.Event) -> None:
    """Process pending uploads until `stop` is set; when there is nothing to do, wait for the next upload's commit.
    The nightly build runs beside, in a thread of its own (`keep_days`), and stops with it."""
    config = build_context(settings)
    batch = whole_setting(settings, "ATTENDANCE_INGEST_BATCH", 50, 1, 1000)
    # Devices wait for their acknowledgement, nobody waits for this job: where both share a machine the
    # job may be told to yield the CPU to the request path (it made no measurable difference on 2 cores).
    niceness = whole_setting(settings, "ATTENDANCE_INGEST_NICE", 0, 0, 19)
    if niceness:
        os.nice(niceness)
    engine = make_engine(settings.database_url)
    # Loops draining side by side in this process (`drain`): two keep the process's Python busy while PostgreSQL
    # runs the other's statements (docs/PERFORMANCE.md; a third added nothing). SQLite has one writer at a time.
    workers = 1 if engine.dialect.name == "sqlite" else whole_setting(settings, "ATTENDANCE_INGEST_WORKERS", 2, 1, 8)
    sessions = make_session_factory(engine, tables.metadata)
    # A batch of uploads allocates as a poll of events does (a dict, a row, an event and its wire text per
    # punch): the collector tuned as the consumers tune it, or its full collections walking the modules cost a
    # fifth of the job's CPU per punch.
    collect_for_polls()
    log.info("attendance ingest job started", extra={"batch": batch, "workers": workers})
    halt = threading.Event()
    nightly = threading.Thread(target=keep_days, args=(sessions, config, halt), name="attendance-days", daemon=True)
    nightly.start()
    wakeup = Wakeup(engine, UPLOADS_CHANNEL, poll_s=IDLE_POLL_S, fallback_s=IDLE_WAIT_S)
    try:
        while not stop.is_set():
            try:
                wakeup.listen()  # before looking: an upload committed after this wakes the wait below
                drain(sessions, config, batch, stop, workers)
            except Exception:  # noqa: BLE001 - the batch stays pending and is retried
                log.exception("processing pending uploads failed; retrying")
                stop.wait(ERROR_WAIT_S)
                continue
            wakeup.wait(stop)
    finally:
        halt.set()  # the nightly build stops after its current chunk (its date stays open)
        wakeup.close()
        nightly.join()
        engine.dispose()
