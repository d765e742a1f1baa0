"""End to end on a real Kafka broker: a device POST over HTTP becomes an `attendance.day.built` event."""
import dataclasses
import threading
import time
import uuid

import pytest

from runtime.consumer import EventConsumer
from runtime.db import make_engine, make_session_factory
from runtime.events import make_event
from runtime.kafka import make_producer
from runtime.projection import replay
from runtime.relay import relay_once

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def test_a_device_post_produces_the_day_event_on_kafka(new_database, make_app, kafka_bootstrap, token, new_nip):
    from attendance.consumers import handlers
    from attendance.tables import metadata
    url = new_database("attendance")
    app = make_app("attendance", url, kafka=kafka_bootstrap)
    client, admin = app.test_client(), token(new_nip(), "admin")
    sessions = make_session_factory(make_engine(url), metadata)
    on_event = handlers(app.config["SETTINGS"])
    nip, serial = new_nip(), "E2E" + uuid.uuid4().hex[:10].upper()
    directory = EventConsumer("attendance", None, None, sessions, on_event)
    directory.apply(make_event("directory.employee.upserted", nip, {
        "employee_id": nip, "name": "Siti", "unit_id": "dinkes", "status": "PNS", "zone": "Asia/Makassar"}, "test"))
    directory.apply(make_event("directory.enrolment.upserted", f"{serial}:46", {
        "device_serial": serial, "pin": "46", "employee_id": nip}, "test"))
    assert client.post("/devices", json={"device_serial": serial, "zone": "Asia/Makassar", "location": "Lobi"},
                       headers=admin).status_code == 201  # pre-registered: it has not called yet

    body = b"46\t2025-01-29 07:41:02\t0\t15\t0\t0\t0\t0\t0\t0\t501\r\n46\t2025-01-29 16:02:10\t1\t15\t0\t0\t0\t0\t0\t0\t502\r\n"
    reply = client.post(f"/iclock/cdata?SN={serial}&table=ATTLOG&Stamp=502", data=body,
                        content_type="application/x-www-form-urlencoded")
    assert reply.data == b"OK: 2"

    producer = make_producer(kafka_bootstrap, "attendance-e2e-relay")
    built = []
    deadline = time.monotonic() + 45
    stop = threading.Event()  # the ingest job (`kinerja work attendance`) turns the stored upload into punches and days
    from attendance import jobs
    settings = dataclasses.replace(app.config["SETTINGS"],
                                   extra=dict(app.config["SETTINGS"].extra, ATTENDANCE_INGEST_NICE="0"))
    ingest = threading.Thread(target=jobs.run, args=(settings, stop), daemon=True)
    ingest.start()
    try:
        while time.monotonic() < deadline and not built:
            relay_once(sessions, producer, "attendance")
            replay(kafka_bootstrap, ["attendance.days"],
                   lambda e: built.append(e) if e.key == nip and str(e.data["local_date"]) == "2025-01-29" else None,
                   client_id="attendance-e2e-reader")
    finally:
        stop.set()
        ingest.join(timeout=10)
        producer.close()
    assert built, "no attendance.day.built event for the employee reached Kafka"
    day = built[-1].data
    assert (day["employee_id"], str(day["local_date"]), day["zone"]) == (nip, "2025-01-29", "Asia/Makassar")
    assert (day["status"], day["late_minutes"], day["late_band"], day["version"]) == ("late", 11, "TL1", 1)
    assert day["clock_in"].isoformat() == "2025-01-28T23:41:02+00:00"
