"""What /metrics reports at scrape time, on a real broker and PostgreSQL: the outbox, the consumer lag, the
dead letters, readiness, and attendance's devices and ingest backlog."""
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from runtime.consumer import EventConsumer
from runtime.db import make_engine, make_session_factory
from runtime.events import make_event
from runtime.kafka import make_producer
from runtime.messaging import publish

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def _samples(client) -> dict:
    text = client.get("/metrics").get_data(as_text=True)
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def test_outbox_lag_dead_letters_and_readiness_are_read_at_scrape_time(new_database, make_app, kafka_bootstrap):
    from payroll.tables import metadata
    url = new_database("payroll")
    client = make_app("payroll", url, kafka=kafka_bootstrap).test_client()
    before = _samples(client)
    assert _value(before, "kinerja_service_ready", service="payroll") == 1
    assert _value(before, "kinerja_broker_metrics_up", service="payroll") == 1
    assert _value(before, "kinerja_outbox_waiting", service="payroll") == 0
    assert _value(before, "kinerja_dead_letters", service="payroll", topic="directory.units.dlq") is not None
    assert _value(before, "kinerja_payroll_runs", state="draft") == 0

    sessions = make_session_factory(make_engine(url), metadata)
    with sessions() as session, session.begin():  # two events written, no relay running
        publish(session, *(make_event("payroll.run.drafted", f"m-{i}", {
            "run_id": f"m-{i}", "organisation": "test", "year": 2026, "month": 1, "state": "draft", "employees": 0,
            "gross_total": 0, "net_total": 0, "content_hash": "x"}, "payroll") for i in range(2)))
    unit = f"u-{uuid.uuid4().hex[:8]}"
    make_producer(kafka_bootstrap, "monitoring-test").send(  # an event for payroll's consumer, which is not running
        "directory.units", key=unit, value=make_event("directory.unit.upserted", unit,
                                                      {"unit_id": unit, "name": "Dinas"}, "directory").to_json()).get(30)
    after = _samples(client)
    assert _value(after, "kinerja_outbox_waiting", service="payroll") == 2
    assert _value(after, "kinerja_outbox_oldest_age_seconds", service="payroll") >= 0
    lag = sum(v for (name, labels), v in after.items()
              if name == "kinerja_consumer_lag" and ("topic", "directory.units") in labels)
    assert lag >= 1


def test_a_dead_lettered_event_is_counted_on_its_topic(new_database, make_app, kafka_bootstrap):
    from scoring.consumers import handlers
    from scoring.tables import metadata
    url = new_database("scoring")
    client = make_app("scoring", url, kafka=kafka_bootstrap).test_client()
    topic = "attendance.days.dlq"
    waiting = _value(_samples(client), "kinerja_dead_letters", service="scoring", topic=topic)
    consumer = EventConsumer("scoring", None, make_producer(kafka_bootstrap, "monitoring-test"),
                             make_session_factory(make_engine(url), metadata), handlers(client.application.config["SETTINGS"]))

    class Poison:  # a record of attendance.days that is not an event at all
        topic, partition, offset, key, value = "attendance.days", 0, 0, b"poison", b"{not an event"
    consumer.handle_records([Poison()])
    samples = _samples(client)
    assert _value(samples, "kinerja_dead_letters", service="scoring", topic=topic) == waiting + 1
    assert 0 <= _value(samples, "kinerja_dead_letter_newest_age_seconds", service="scoring", topic=topic) < 300


def test_attendance_reports_devices_by_unit_and_the_ingest_backlog(new_database, make_app, kafka_bootstrap, token,
                                                                   new_nip):
    from attendance.consumers import handlers
    from attendance.tables import metadata
    url = new_database("attendance")
    app = make_app("attendance", url, kafka=kafka_bootstrap)
    client = app.test_client()
    sessions = make_session_factory(make_engine(url), metadata)
    directory = EventConsumer("attendance", None, None, sessions, handlers(app.config["SETTINGS"]))
    nip, serial = new_nip(), "MON" + uuid.uuid4().hex[:8].upper()
    directory.apply(make_event("directory.employee.upserted", nip, {
        "employee_id": nip, "name": "Siti", "unit_id": "dinkes", "status": "PNS", "zone": "Asia/Makassar"}, "test"))
    directory.apply(make_event("directory.enrolment.upserted", f"{serial}:46", {
        "device_serial": serial, "pin": "46", "employee_id": nip}, "test"))
    assert client.post("/devices", json={"device_serial": serial, "zone": "Asia/Makassar", "location": "Lobi"},
                       headers=token(new_nip(), "admin")).status_code == 201
    body = b"46\t2025-01-29 07:41:02\t0\t15\t0\t0\t0\t0\t0\t0\t501\r\nbroken line\r\n"
    assert client.post(f"/iclock/cdata?SN={serial}&table=ATTLOG&Stamp=501", data=body,
                       content_type="application/x-www-form-urlencoded").status_code == 200
    samples = _samples(client)
    assert _value(samples, "kinerja_attendance_device_last_contact_timestamp_seconds",
                  device=serial, unit="dinkes", state="approved") > 0
    assert _value(samples, "kinerja_attendance_device_silent", device=serial, unit="dinkes") == 0  # it just called
    assert _value(samples, "kinerja_attendance_ingest_waiting") == 1  # stored, acknowledged, not yet ingested
    assert _value(samples, "kinerja_attendance_ingest_oldest_age_seconds") >= 0
