"""Fixtures for payroll on PostgreSQL: a migrated database, the app, and events applied as the consumer would."""
from __future__ import annotations

from datetime import datetime

import pytest

from runtime.consumer import EventConsumer
from runtime.db import make_engine, make_session_factory
from runtime.events import make_event

from payroll_testdata import UNIT


@pytest.fixture
def payroll_db(new_database):
    """A fresh payroll database URL."""
    return new_database("payroll")


@pytest.fixture
def sessions(payroll_db):
    """Sessions on the payroll database."""
    from payroll.tables import metadata
    engine = make_engine(payroll_db)
    yield make_session_factory(engine, metadata)
    engine.dispose()


@pytest.fixture
def client(make_app, payroll_db):
    """A test client of the payroll app with the national policy."""
    return make_app("payroll", payroll_db).test_client()


@pytest.fixture
def deliver(sessions):
    """Apply events through payroll's consumer (its handlers and its inbox), one transaction each."""
    from payroll.consumers import handlers
    from runtime.config import Settings
    consumer = EventConsumer("payroll", None, None, sessions, handlers(Settings.from_env("payroll", {})))

    def apply(event_type: str, key: str, data: dict, occurred_at: datetime | None = None):
        event = make_event(event_type, key, data, "test", occurred_at=occurred_at)
        consumer.apply(event)
        return event
    return apply


@pytest.fixture
def org(deliver, new_nip):
    """A unit, a job-class-8 position and two employees (a PNS and a CPNS) in the directory."""
    deliver("directory.unit.upserted", UNIT, {"unit_id": UNIT, "name": "Dinas Kominfo"})
    deliver("directory.position.upserted", "ANALIS", {"position_id": "ANALIS", "name": "Analis", "job_class": 8,
                                                      "kind": "functional", "unit_id": UNIT})
    people = {"siti": new_nip("2"), "budi": new_nip("1")}
    for who, status in (("siti", "PNS"), ("budi", "CPNS")):
        deliver("directory.employee.upserted", people[who], {
            "employee_id": people[who], "name": who.title(), "unit_id": UNIT, "position_id": "ANALIS",
            "status": status, "zone": "Asia/Jakarta"})
    return people
