"""Payroll on the real broker: scored months on Kafka reach payroll's consumer; run events appear on Kafka."""
import random
import time
import uuid
from datetime import date

import pytest
from sqlalchemy import select

from runtime.db import make_engine, make_session_factory
from runtime.events import make_event, parse_event
from runtime.kafka import make_consumer, make_producer
from runtime.relay import relay_once
from runtime.workers import build_consumer

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def _until(step, done, timeout_s=45.0, what="condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if done():
            return
        step()
    raise AssertionError(f"timed out waiting for {what}")


def test_scored_months_on_kafka_become_an_approved_run_whose_events_are_on_kafka(
        new_database, kafka_bootstrap, make_app, token, new_nip):
    from payroll.tables import metadata, payslips, scored_months
    url = new_database("payroll")
    sessions = make_session_factory(make_engine(url), metadata)
    year, month = random.randrange(2040, 2090), random.randrange(1, 13)  # a month no other test scores
    unit, position = f"U-{uuid.uuid4().hex[:8]}", f"P-{uuid.uuid4().hex[:8]}"
    siti, budi = new_nip("2"), new_nip("1")
    producer = make_producer(kafka_bootstrap, "test-scoring")
    events = [
        make_event("directory.unit.upserted", unit, {"unit_id": unit, "name": "Dinas Uji"}, "directory"),
        make_event("directory.position.upserted", position, {"position_id": position, "name": "Analis",
                                                             "job_class": 8, "kind": "functional"}, "directory"),
    ]
    for nip, status in ((siti, "PNS"), (budi, "CPNS")):
        events.append(make_event("directory.employee.upserted", nip, {
            "employee_id": nip, "name": nip, "unit_id": unit, "position_id": position, "status": status,
            "zone": "Asia/Jakarta"}, "directory"))
    for nip, activity, days in ((siti, "90", [{"local_date": date(year, month, 3).isoformat(), "status": "present",
                                               "late_band": "TL2"}]), (budi, "80", [])):
        events.append(make_event("scoring.month.scored", nip, {
            "employee_id": nip, "unit_id": unit, "year": year, "month": month, "version": 1,
            "activity_score": activity, "discipline_score": "95", "predicate": "Baik", "effective_minutes": 9900,
            "credited_minutes": 8900, "days": days, "breakdown": {}}, "scoring"))
    for event in events:
        producer.send(event.topic, key=event.key, value=event.to_json()).get(timeout=30)

    settings = make_app("payroll", url, kafka_bootstrap).config["SETTINGS"]
    consumer = build_consumer("payroll", settings, group_suffix=f"-test-{uuid.uuid4().hex[:8]}")

    def scored_ours():
        with sessions() as s:
            return set(s.execute(select(scored_months.c.employee_id).where(
                scored_months.c.year == year, scored_months.c.month == month)).scalars())
    try:
        _until(lambda: consumer.poll_once(300), lambda: scored_ours() == {siti, budi}, what="payroll's consumer")
    finally:
        consumer.kafka.close()

    client = make_app("payroll", url, kafka_bootstrap).test_client()
    run = client.post("/runs", json={"year": year, "month": month}, headers=token("199001012015031001", "finance"))
    assert run.status_code == 201, run.json
    run_id = run.json["run_id"]
    client.post(f"/runs/{run_id}/review", headers=token("198001012005011001", "finance"))
    approved = client.post(f"/runs/{run_id}/approve", headers=token("198501012010011001", "finance"))
    assert approved.json["state"] == "approved"
    with sessions() as s:
        nets = dict(s.execute(select(payslips.c.employee_id, payslips.c.net).where(payslips.c.run_id == run_id)).all())
    assert nets == {siti: 3_866_940, budi: 2_927_232}  # hand-computed in tests/integration/payroll

    relay_producer = make_producer(kafka_bootstrap, "test-payroll-relay")
    while relay_once(sessions, relay_producer, "payroll"):
        pass
    reader = make_consumer(kafka_bootstrap, None, "test-payroll-runs", consumer_timeout_ms=1000)
    reader.subscribe(["payroll.runs"])
    seen = []

    def read():
        for record in reader:
            event = parse_event(record.value)
            if event.key == run_id:
                seen.append((event.type, event.data["state"], event.data["approved_by"]))
    try:
        _until(read, lambda: len(seen) >= 2, what="payroll.run.* events on Kafka")
    finally:
        reader.close()
    assert seen == [("payroll.run.drafted", "draft", None),
                    ("payroll.run.approved", "approved", "198501012010011001")]
    assert approved.json["content_hash"] and approved.json["net_total"] == 3_866_940 + 2_927_232
