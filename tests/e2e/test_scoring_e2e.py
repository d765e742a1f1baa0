"""Scoring on the real broker: days, entries and decisions from Kafka give flags on `scoring.flags`, and closing
the month gives one `scoring.month.scored` per employee on `scoring.months`."""
from __future__ import annotations

import json
import time
import uuid
from datetime import date, datetime, time as clock, timezone
from zoneinfo import ZoneInfo

import pytest
from kafka.structs import TopicPartition
from sqlalchemy import func, select

from contracts.registry import EVENTS
from runtime.config import Settings
from runtime.consumer import EventConsumer
from runtime.db import make_engine, make_session_factory
from runtime.events import make_event
from runtime.kafka import make_consumer, make_producer
from runtime.relay import relay_once
from runtime.service import service

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
WIB = ZoneInfo("Asia/Jakarta")
MONDAY = date(2024, 4, 1)


def _at(hhmm: str) -> str:
    return datetime.combine(MONDAY, clock.fromisoformat(hhmm), WIB).astimezone(timezone.utc).isoformat()


def _day(nip: str, version: int, clock_out: str | None) -> dict:
    return {"employee_id": nip, "local_date": MONDAY.isoformat(), "zone": "Asia/Jakarta", "version": version,
            "status": "present", "scheduled_start": _at("07:30"), "scheduled_end": _at("16:00"),
            "scheduled_minutes": 450, "clock_in": _at("07:25"), "clock_out": _at(clock_out) if clock_out else None,
            "presence_minutes": 520 if clock_out else 0, "late_minutes": 0, "early_leave_minutes": 0,
            "overtime_minutes": 0, "late_band": None, "early_band": None, "missing_clock_in": False,
            "missing_clock_out": clock_out is None, "punch_ids": ["p-in"] + (["p-out"] if clock_out else []),
            "absence_kind": None, "absence_reference": None}


def _entry(nip: str, entry_id: str, start: str, end: str) -> dict:
    minutes = int((datetime.fromisoformat(_at(end)) - datetime.fromisoformat(_at(start))).total_seconds() // 60)
    return {"entry_id": entry_id, "version": 1, "employee_id": nip, "local_date": MONDAY.isoformat(),
            "zone": "Asia/Jakarta", "start_at": _at(start), "end_at": _at(end), "quantity": 1,
            "norm_minutes": minutes, "duration_minutes": minutes, "credited_minutes": minutes,
            "free_description": False, "state": "submitted"}


def _decision(nip: str, entry_id: str, boss: str, minutes: int) -> dict:
    return {"decision_id": str(uuid.uuid4()), "entry_id": entry_id, "entry_version": 1, "employee_id": nip,
            "local_date": MONDAY.isoformat(), "decider_id": boss, "action": "approve", "state": "approved",
            "credited_minutes": minutes, "sampled": False, "creditable": True, "on_time": True,
            "decided_at": datetime.now(timezone.utc).isoformat()}


def _wait(consumer: EventConsumer, condition, what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        consumer.poll_once(timeout_ms=200)
        if condition():
            return
    raise AssertionError(f"timed out waiting for {what}")


def _tail(bootstrap: str, topic: str):
    """A reader positioned at the current end of `topic` (only what comes next is read)."""
    reader = make_consumer(bootstrap, None, f"scoring-e2e-reader-{uuid.uuid4().hex[:6]}")
    partitions = [TopicPartition(topic, p) for p in sorted(reader.partitions_for_topic(topic))]
    reader.assign(partitions)
    reader.seek_to_end(*partitions)
    for tp in partitions:
        reader.position(tp)
    return reader


def _read(reader, keys: set[str], count: int, timeout_s: float = 30.0) -> list[dict]:
    found, deadline = [], time.monotonic() + timeout_s
    while len(found) < count and time.monotonic() < deadline:
        for records in reader.poll(timeout_ms=300).values():
            found += [json.loads(r.value) for r in records if r.key and r.key.decode() in keys]
    reader.close()
    return found


def test_events_on_kafka_give_flags_and_monthly_scores(new_database, kafka_bootstrap, new_nip):
    url = new_database("scoring")
    settings = Settings(**{**Settings.from_env("scoring", {}).__dict__, "database_url": url,
                           "kafka_bootstrap_servers": kafka_bootstrap})
    spec = service("scoring")
    handlers = spec.consumer_handlers(settings)
    engine = make_engine(url)
    sessions = make_session_factory(engine, spec.metadata)
    topics = sorted({EVENTS[t][0] for t in handlers})
    kafka_consumer = make_consumer(kafka_bootstrap, f"scoring-e2e-{uuid.uuid4().hex[:8]}", "scoring-e2e")
    partitions = [TopicPartition(t, p) for t in topics for p in sorted(kafka_consumer.partitions_for_topic(t))]
    kafka_consumer.assign(partitions)
    kafka_consumer.seek_to_end(*partitions)  # the topics are shared: start from now, not from other tests' history
    for tp in partitions:
        kafka_consumer.position(tp)
    producer = make_producer(kafka_bootstrap, "scoring-e2e")
    consumer = EventConsumer("scoring", kafka_consumer, producer, sessions, handlers)
    tables = spec.metadata.tables

    def send(event_type: str, key: str, data: dict) -> None:
        event = make_event(event_type, key, data, "e2e")
        producer.send(event.topic, key=event.key, value=event.to_json()).get(timeout=30)

    def count(table: str, *where) -> int:
        with sessions() as s:
            t = tables[table]
            return s.execute(select(func.count()).select_from(t).where(*(w(t) for w in where))).scalar()

    unit_id, boss, staff, colleague = f"e2e-{uuid.uuid4().hex[:8]}", new_nip(), new_nip(), new_nip()
    try:
        for nip, unit, supervisor in ((boss, "setda", None), (staff, unit_id, boss), (colleague, unit_id, boss)):
            send("directory.employee.upserted", nip, {"employee_id": nip, "name": "Pegawai", "unit_id": unit,
                                                      "supervisor_id": supervisor, "status": "PNS",
                                                      "zone": "Asia/Jakarta"})
        _wait(consumer, lambda: count("employees") == 3, "the directory projection")

        send("attendance.day.built", staff, _day(staff, 1, clock_out=None))  # the device has sent only the clock-in
        _wait(consumer, lambda: count("days") == 1, "the attendance day")
        send("activities.entry.submitted", staff, _entry(staff, f"{unit_id}-e1", "07:30", "10:00"))
        send("activities.entry.submitted", staff, _entry(staff, f"{unit_id}-e2", "09:00", "12:00"))
        _wait(consumer, lambda: count("flags") == 2, "the missing clock-out and overlap flags")
        send("attendance.day.built", staff, _day(staff, 2, clock_out="16:05"))  # the clock-out arrives late
        _wait(consumer, lambda: count("flags", lambda t: t.c.state == "resolved") == 1, "the late punch")
        for entry_id, minutes in ((f"{unit_id}-e1", 150), (f"{unit_id}-e2", 180)):
            send("approvals.decision.made", staff, _decision(staff, entry_id, boss, minutes))
        _wait(consumer, lambda: count("entry_decisions") == 2, "the decisions")
        send("approvals.month.closed", unit_id, {"unit_id": unit_id, "year": 2024, "month": 4, "closed_by": boss,
                                                 "closed_at": datetime.now(timezone.utc).isoformat(),
                                                 "entry_count": 2})
        _wait(consumer, lambda: count("month_scores") == 2, "the month to be scored")

        flag_reader, month_reader = _tail(kafka_bootstrap, "scoring.flags"), _tail(kafka_bootstrap, "scoring.months")
        while relay_once(sessions, producer, "scoring"):
            pass
        flags = _read(flag_reader, {staff, colleague}, 3)
        months = _read(month_reader, {staff, colleague}, 2)
    finally:
        kafka_consumer.close()
        producer.close()
        engine.dispose()

    assert [(f["type"], f["data"]["kind"]) for f in flags] == [
        ("scoring.flag.raised", "missing_clock_out"), ("scoring.flag.raised", "overlapping_activities"),
        ("scoring.flag.resolved", "missing_clock_out")]
    assert flags[2]["data"]["resolution"].startswith("cause removed by later data")
    assert flags[1]["data"]["evidence"]["entry_ids"] == [f"{unit_id}-e1", f"{unit_id}-e2"]
    scored = {m["data"]["employee_id"]: m["data"] for m in months}
    assert set(scored) == {staff, colleague} and {m["type"] for m in months} == {"scoring.month.scored"}
    mine = scored[staff]
    assert (mine["unit_id"], mine["year"], mine["month"], mine["version"]) == (unit_id, 2024, 4, 1)
    # The overlap is not cleared, so both entries are held back; the breakdown says why.
    assert mine["credited_minutes"] == 0 and mine["effective_minutes"] == 450
    assert {l["reason"] for l in mine["breakdown"]["activity"]["lines"]} == {
        "held back by unresolved overlapping_activities"}
    assert mine["days"] == []  # one plain present day: nothing payroll could charge
