"""Fixtures of the attendance integration tests: a migrated database, the app, and the consumer's handlers."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select

from runtime.consumer import EventConsumer
from runtime.db import make_engine, make_session_factory
from runtime.events import dump_data, make_event, parse_event

UNIT = "dinkes"


@dataclass
class Attendance:
    """One attendance service under test: HTTP client, sessions, consumer handlers, tokens."""

    client: object
    sessions: object
    consumer: EventConsumer
    token: object
    admin: dict

    def apply(self, event_type: str, data: dict, key: str = "k") -> None:
        """Deliver another service's event to the attendance consumer (with its inbox)."""
        self.consumer.apply(make_event(event_type, key, data, "test"))

    def employee(self, nip: str, zone: str = "Asia/Jakarta", schedule_id: str | None = None,
                 supervisor_id: str | None = None, unit_id: str = UNIT) -> str:
        """Project a directory employee."""
        self.apply("directory.employee.upserted", {
            "employee_id": nip, "name": f"Pegawai {nip[-3:]}", "unit_id": unit_id, "status": "PNS", "zone": zone,
            "schedule_id": schedule_id, "supervisor_id": supervisor_id}, nip)
        return nip

    def enrol(self, serial: str, pin: str, nip: str, active: bool = True) -> None:
        """Project a directory enrolment (device serial + PIN -> employee)."""
        self.apply("directory.enrolment.upserted", {"device_serial": serial, "pin": pin, "employee_id": nip,
                                                    "name": "Siti", "active": active}, f"{serial}:{pin}")

    def device(self, zone: str = "Asia/Jakarta") -> str:
        """A new device in `zone`, pre-registered (so approved) before it calls."""
        serial = "CQUJ" + uuid.uuid4().hex[:10].upper()
        response = self.client.post("/devices", json={"device_serial": serial, "zone": zone, "location": "Lobi"},
                                    headers=self.admin)
        assert response.status_code == 201, response.json
        return serial

    def post_attlog(self, serial: str, body: bytes | str, stamp: int | None = None):
        """A device's ATTLOG upload, sent as real firmware does (a form content type over a raw body)."""
        if isinstance(body, str):
            body = body.encode()
        query = f"/iclock/cdata?SN={serial}&table=ATTLOG" + (f"&Stamp={stamp}" if stamp is not None else "")
        return self.client.post(query, data=body, content_type="application/x-www-form-urlencoded")

    def outbox(self, event_type: str) -> list:
        """Events of `event_type` written to the outbox, oldest first."""
        with self.sessions() as session:
            outbox = session.info["metadata"].tables["outbox"]
            rows = session.execute(select(outbox.c.payload).where(outbox.c.type == event_type)
                                   .order_by(outbox.c.id)).all()
            events = [parse_event(r.payload) for r in rows]
        # every payload is what `make_events` would have written: the schema's dump of its data as loaded back
        for event, row in zip(events, rows):
            assert json.loads(row.payload)["data"] == dump_data(event_type, event.data)
        return events

    def work(self):
        """Run the ingest job (`kinerja work attendance`) until no upload is pending, which also builds the days of
        the punches it stores; return its totals."""
        from attendance.jobs import drain
        return drain(self.sessions, self.client.application.extensions["kinerja"].service)

    def days(self, nip: str, start: date, end: date | None = None) -> list[dict]:
        """The employee's days through the API (as an admin)."""
        response = self.client.get(f"/days?employee_id={nip}&from={start}&to={end or start}", headers=self.admin)
        assert response.status_code == 200, response.json
        return response.json["days"]

    def punches(self, nip: str, start: date, end: date | None = None) -> list[dict]:
        """The employee's punches through the API (as an admin)."""
        response = self.client.get(f"/punches?employee_id={nip}&from={start}&to={end or start}", headers=self.admin)
        assert response.status_code == 200, response.json
        return response.json["punches"]


@pytest.fixture
def att(new_database, make_app, token, new_nip) -> Attendance:
    """A fresh attendance service on its own PostgreSQL database."""
    from attendance.consumers import handlers
    from attendance.tables import metadata
    url = new_database("attendance")
    app = make_app("attendance", url)
    engine = make_engine(url)
    sessions = make_session_factory(engine, metadata)
    consumer = EventConsumer("attendance", None, None, sessions, handlers(app.config["SETTINGS"]))
    yield Attendance(app.test_client(), sessions, consumer, token, token(new_nip(), "admin"))
    engine.dispose()
    app.extensions["kinerja"].engine.dispose()
