"""A poisoned punch event in a batch of the attendance consumer is dead-lettered alone; the others build days.

The batched day build (`days.on_punches_recorded`) reads and writes a whole poll at once, so one event it cannot
apply fails the batch; the consumer then applies the poll one event at a time and only that one is dead-lettered
(on a real broker). Here the poison is an employee whose schedule cannot be read.
"""
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from attendance import tables
from runtime.consumer import EventConsumer
from runtime.db import make_engine, make_session_factory
from runtime.events import make_event
from runtime.kafka import make_consumer, make_producer

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
DAY = date(2025, 1, 27)


class Record:
    def __init__(self, topic, offset, event):
        self.topic, self.partition, self.offset = topic, 0, offset
        self.key, self.value = event.key.encode(), event.to_json().encode()


def test_a_poison_punch_event_in_a_batch_is_dead_lettered_alone(new_database, make_app, kafka_bootstrap, new_nip):
    from attendance.consumers import handlers
    url = new_database("attendance")
    app = make_app("attendance", url, kafka=kafka_bootstrap)
    engine = make_engine(url)
    sessions = make_session_factory(engine, tables.metadata)
    good = [new_nip() for _ in range(3)]
    poison = new_nip()
    with sessions.begin() as session:
        session.execute(insert(tables.schedules).values(schedule_id="broken", definition={"days": "?"}, active=True))
        session.execute(insert(tables.employees), [
            {"employee_id": nip, "unit_id": "dinkes", "zone": "Asia/Jakarta", "active": True,
             "schedule_id": "broken" if nip == poison else None} for nip in good + [poison]])
        punches = []
        for n, nip in enumerate(good + [poison]):
            for hour in (0, 9):  # 07:xx and 16:xx in Jakarta
                at = datetime(2025, 1, 27, hour, 20 + n, tzinfo=UTC)
                punches.append({"device_serial": "CQ", "pin": str(n), "sequence": len(punches) + 1,
                                "employee_id": nip, "source": "adms", "at": at, "zone": "Asia/Jakarta",
                                "local_time": (at + timedelta(hours=7)).replace(tzinfo=None), "local_date": DAY,
                                "device_status": 0, "verify": 1, "upload_id": None, "recorded_at": at})
        ids = session.execute(insert(tables.punches).returning(tables.punches.c.id), punches).scalars().all()
    events = [make_event("attendance.punch.recorded", p["employee_id"], {
        "punch_id": str(punch_id), "employee_id": p["employee_id"], "device_serial": "CQ", "pin": p["pin"],
        "source": "adms", "at": p["at"], "local_time": p["local_time"], "zone": "Asia/Jakarta", "local_date": DAY,
        "device_status": 0, "verify": 1}, "test") for punch_id, p in zip(ids, punches)]
    topic = f"test.punches.{uuid.uuid4().hex[:8]}"
    consumer = EventConsumer("attendance", None, make_producer(kafka_bootstrap, "test-poison"), sessions,
                             handlers(app.config["SETTINGS"]), max_attempts=2, retry_backoff_s=0.01)
    consumer.handle_records([Record(topic, n, event) for n, event in enumerate(events)])

    with sessions() as session:
        built = sorted(session.execute(select(tables.days.c.employee_id).where(tables.days.c.local_date == DAY))
                       .scalars())
    assert built == sorted(good)
    dead = make_consumer(kafka_bootstrap, None, "test-dlq-reader", consumer_timeout_ms=5000)
    dead.subscribe([f"{topic}.dlq"])
    letters = [record.value for record in dead]
    dead.close()
    assert sorted(letters) == sorted(e.to_json().encode() for e in events if e.key == poison)
    engine.dispose()
    app.extensions["kinerja"].engine.dispose()
