"""Restore drill on PostgreSQL: scoring's database is lost, restored from its last pg_dump, then caught up
from Kafka (the compacted directory topics and the retained attendance history) with `kinerja catch-up`,
until it holds exactly what it held before the loss, each event applied once."""
import glob
import shutil
import subprocess
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from runtime.db import make_engine, make_session_factory
from runtime.events import make_event
from runtime.kafka import make_producer
from runtime.migrate import upgrade
from runtime.workers import build_consumer, catch_up_point, rewind_consumer
from scoring import tables
from tests.conftest import make_settings

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(600)]


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        pytest.fail(f"{name} is missing (Debian's postgresql-client provides it)")
    return found


def _day(nip: str, day: date, version: int, status: str) -> dict:
    return {"employee_id": nip, "local_date": day.isoformat(), "zone": "Asia/Jakarta", "version": version,
            "status": status, "scheduled_minutes": 450, "presence_minutes": 450 if status == "present" else 0,
            "late_minutes": 0, "early_leave_minutes": 0, "overtime_minutes": 0, "missing_clock_in": status != "present",
            "missing_clock_out": status != "present", "punch_ids": []}


class Scoring:
    """scoring's consumer (its own group) in a thread, on the database at `url`."""

    def __init__(self, url: str, settings, suffix: str):
        self.consumer = build_consumer("scoring", settings, group_suffix=suffix)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.consumer.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def close(self):
        self.stop.set()
        self.thread.join(timeout=60)


def test_a_lost_database_is_restored_from_its_dump_and_caught_up_from_kafka(new_database, kafka_bootstrap,
                                                                           new_nip, tmp_path):
    url = new_database("scoring")
    settings = make_settings("scoring", url, kafka_bootstrap)
    suffix = f"-drill-{uuid.uuid4().hex[:8]}"
    engine = make_engine(url)
    sessions = make_session_factory(engine, tables.metadata)
    nip = new_nip()
    rewind_consumer("scoring", settings, datetime.now(UTC), suffix)  # a new group starts at the present
    producer = make_producer(kafka_bootstrap, "drill")
    sent: list = []

    def send(event_type, key, data):
        event = make_event(event_type, key, data, "drill")
        sent.append(event.event_id)
        topic = {"directory.employee.upserted": "directory.employees", "attendance.day.built": "attendance.days"}
        producer.send(topic[event_type], key=key, value=event.to_json()).get(timeout=30)

    def state():
        with sessions() as s:
            days = s.execute(select(tables.days.c.local_date, tables.days.c.version, tables.days.c.status)
                             .where(tables.days.c.employee_id == nip).order_by(tables.days.c.local_date)).all()
            unit = s.execute(select(tables.employees.c.unit_id).where(tables.employees.c.employee_id == nip)).scalar()
        return unit, [tuple(d) for d in days]

    def wait_for(expected, what):
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and state() != expected:
            time.sleep(0.5)
        assert state() == expected, f"{what}: {state()}"

    first = date(2026, 3, 2)
    scoring = Scoring(url, settings, suffix)
    try:
        send("directory.employee.upserted", nip, {"employee_id": nip, "name": "Siti", "unit_id": "dinkes",
                                                  "status": "PNS", "zone": "Asia/Jakarta"})
        for n in range(3):
            send("attendance.day.built", nip, _day(nip, first + timedelta(days=n), 1, "present"))
        before_backup = ("dinkes", [(first + timedelta(days=n), 1, "present") for n in range(3)])
        wait_for(before_backup, "the first events were not applied")
        dump = tmp_path / "scoring.dump"
        subprocess.run([_tool("pg_dump"), "-Fc", "-f", str(dump), _libpq(url)], check=True)
        time.sleep(1.5)  # the events after the backup are later than anything it holds
        send("directory.employee.upserted", nip, {"employee_id": nip, "name": "Siti", "unit_id": "bappeda",
                                                  "status": "PNS", "zone": "Asia/Jakarta"})
        send("attendance.day.built", nip, _day(nip, first + timedelta(days=1), 2, "absent"))
        for n in range(3, 5):
            send("attendance.day.built", nip, _day(nip, first + timedelta(days=n), 1, "present"))
        before_loss = ("bappeda", [(first, 1, "present"), (first + timedelta(days=1), 2, "absent")]
                       + [(first + timedelta(days=n), 1, "present") for n in range(2, 5)])
        wait_for(before_loss, "the events after the backup were not applied")
    finally:
        scoring.close()

    # the database is lost, then restored from its dump: what came after the backup is gone
    database = make_url(url).database
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    engine.dispose()
    subprocess.run([_tool("pg_restore"), "--no-owner", "-d", _libpq(url), str(dump)], check=True)
    upgrade("scoring", url)
    assert state() == before_backup

    since = catch_up_point("scoring", settings, timedelta(minutes=5))
    assert since is not None
    rewind_consumer("scoring", settings, since, suffix)
    scoring = Scoring(url, settings, suffix)
    try:
        wait_for(before_loss, "the restored database did not catch up")
    finally:
        scoring.close()
    with sessions() as s:
        inbox = tables.metadata.tables["inbox"]
        applied = s.execute(select(inbox.c.event_id, func.count()).where(inbox.c.event_id.in_(sent))
                            .group_by(inbox.c.event_id)).all()
    assert sorted(event_id for event_id, _ in applied) == sorted(sent)
    assert {count for _, count in applied} == {1}
