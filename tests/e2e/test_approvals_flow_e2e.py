"""A week's work end to end on a real Kafka broker: an entry with evidence submitted in activities, approved
and verified in approvals, the unit's month closed, and every event seen downstream."""
import io
import time
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from runtime.db import make_engine, make_session_factory
from runtime.events import make_event
from runtime.kafka import make_producer
from runtime.projection import replay
from runtime.relay import relay_once
from runtime.workers import build_consumer
from tests.conftest import make_settings

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
ZONE = "Asia/Jakarta"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 100


def _until(condition, consumers, what, timeout_s=45.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        for consumer in consumers:
            consumer.poll_once(timeout_ms=200)
    raise AssertionError(f"timed out waiting for {what}")


def test_entry_submitted_approved_verified_and_month_closed(new_database, make_app, new_nip, token, kafka_bootstrap,
                                                          tmp_path):
    policy = tmp_path / "policy.toml"
    policy.write_text("[approvals.verification]\nrate = 1\nrequired_before_credit = true\n")
    unit = f"U-{uuid.uuid4().hex[:10]}"
    staff, boss, verifier, admin = new_nip(), new_nip(), new_nip(), new_nip()
    suffix = f"-e2e-{uuid.uuid4().hex[:8]}"
    settings = {name: make_settings(name, new_database(name), kafka_bootstrap, policy_file=str(policy),
                                    data_dir=str(tmp_path)) for name in ("activities", "approvals")}
    activities = make_app("activities", settings["activities"].database_url, kafka_bootstrap,
                          policy_file=str(policy), data_dir=str(tmp_path))
    approvals = make_app("approvals", settings["approvals"].database_url, kafka_bootstrap, policy_file=str(policy))
    consumers = {name: build_consumer(name, s, group_suffix=suffix) for name, s in settings.items()}
    sessions = {name: make_session_factory(make_engine(s.database_url),
                                           __import__(f"{name}.tables", fromlist=["metadata"]).metadata)
                for name, s in settings.items()}
    producer = make_producer(kafka_bootstrap, "e2e")
    try:
        # The directory publishes the two employees; both services project them.
        for nip, supervisor in ((boss, None), (staff, boss)):
            event = make_event("directory.employee.upserted", nip, {
                "employee_id": nip, "name": nip, "unit_id": unit, "position_id": None, "supervisor_id": supervisor,
                "status": "PNS", "zone": ZONE}, "directory")
            producer.send(event.topic, key=event.key, value=event.to_json()).get(timeout=30)
        act, app_ = activities.test_client(), approvals.test_client()

        _until(lambda: _projected(sessions, staff), consumers.values(), "the employee in both projections")

        # Staff: evidence and an entry.
        act.post("/catalogue/imports", data="kode,uraian_tugas,norma_waktu,satuan_output\nSURAT,Surat dinas,30,surat\n",
                 headers=token(admin, "admin"))
        evidence = act.post("/evidence", data={"file": (io.BytesIO(JPEG), "foto.jpg")}, headers=token(staff),
                            content_type="multipart/form-data").json
        today = datetime.now(ZoneInfo(ZONE)).date()
        start = datetime(today.year, today.month, today.day, 8, 0)
        entry = act.post("/entries", json={"start_at": start.isoformat(), "end_at": start.replace(hour=9).isoformat(),
                                           "catalogue_item_id": "SURAT", "evidence_ids": [evidence["evidence_id"]]},
                         headers=token(staff)).json
        assert entry["state"] == "submitted", entry
        assert relay_once(sessions["activities"], producer, "activities") == 1

        # Supervisor: the entry reaches the queue through Kafka, with its evidence; approve it.
        def queue():
            return app_.get("/queue", headers=token(boss, "supervisor")).json["items"]
        _until(queue, [consumers["approvals"]], "the entry in the supervisor's queue")
        queue = queue()
        assert queue[0]["entry_id"] == entry["entry_id"]
        assert queue[0]["evidence"][0]["sha256"] == evidence["sha256"]
        decision = app_.post(f"/entries/{entry['entry_id']}/decisions", json={"action": "approve"},
                             headers=token(boss, "supervisor")).json
        assert decision["sampled"] is True and decision["creditable"] is False

        # Verifier: uphold, then close the unit's month.
        app_.put(f"/verifiers/{verifier}/units/{unit}", headers=token(admin, "admin"))
        verified = app_.post(f"/decisions/{decision['decision_id']}/verification", json={"verdict": "uphold"},
                             headers=token(verifier, "verifier")).json
        assert verified["creditable"] is True
        month = f"{today.year:04d}-{today.month:02d}"
        refused = app_.post(f"/units/{unit}/months/{month}/close", headers=token(verifier, "verifier"))
        assert refused.status_code == 409 and "may be closed only after its last day has ended" in str(refused.json)
        # The clock moves on to the first instant after the month's last day in the unit's zone.
        following = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
        approvals.extensions["kinerja"].service.clock = lambda: datetime(
            following.year, following.month, 1, tzinfo=ZoneInfo(ZONE)).astimezone(timezone.utc)
        closed = app_.post(f"/units/{unit}/months/{month}/close", headers=token(verifier, "verifier"))
        assert closed.status_code == 201, closed.json
        # the decision, the verifier's assignment, the verification and the closed month
        assert relay_once(sessions["approvals"], producer, "approvals") == 4

        # Activities sees the decision, the verification and the closed month.
        def outcome():
            return act.get(f"/entries/{entry['entry_id']}", headers=token(staff)).json
        # Decisions, verifications and closed months travel on different topics: no order between them.
        _until(lambda: outcome()["month_locked"] and outcome()["verified"] is True, [consumers["activities"]],
               "the outcome back in activities")
        final = outcome()
        assert (final["state"], final["verified"], final["creditable"]) == ("approved", True, True)
        assert final["decided_by"] == boss
        edit = act.put(f"/entries/{entry['entry_id']}", json={"start_at": start.isoformat(),
                                                              "end_at": start.replace(hour=10).isoformat(),
                                                              "catalogue_item_id": "SURAT"}, headers=token(staff))
        assert edit.status_code == 409

        # And the month closing is on Kafka for scoring and payroll.
        seen = []
        replay(kafka_bootstrap, ["approvals.months"],
               lambda e: seen.append(e.data) if e.data["unit_id"] == unit else None)
        assert [(e["year"], e["month"], e["closed_by"], e["entry_count"]) for e in seen] == \
            [(today.year, today.month, verifier, 1)]
    finally:
        producer.close()
        for consumer in consumers.values():
            consumer.kafka.close()


def _projected(sessions, employee_id):
    from sqlalchemy import select
    found = []
    for name, factory in sessions.items():
        with factory() as session:
            table = session.info["metadata"].tables["employees"]
            found.append(session.execute(select(table.c.employee_id).where(table.c.employee_id == employee_id))
                         .first() is not None)
    return all(found)
