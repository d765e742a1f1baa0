"""The ingest job on PostgreSQL: an upload is kept before `OK`, then turned into punches once, crash or not."""
import dataclasses
import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from attendance import jobs, tables
from attendance.handlers import ingest

pytestmark = pytest.mark.postgres

BODY = ("46\t2025-01-29 06:58:48\t0\t15\t0\t0\t0\t0\t0\t0\t10881\r\n"
        "46\t2025-01-29 16:02:10\t1\t15\t0\t0\t0\t0\t0\t0\t10882\r\n"
        "46\t2025-01-29 16:0\r\n")


def _pending(att) -> int:
    r = tables.raw_uploads.c
    with att.sessions() as session:
        return session.execute(select(func.count()).where(r.processed_at.is_(None))).scalar()


def _config(att):
    return att.client.application.extensions["kinerja"].service


def test_an_acknowledged_upload_is_already_stored_and_a_crashed_job_loses_nothing(att, new_nip):
    serial = att.device()
    nip = att.employee(new_nip())
    att.enrol(serial, "46", nip)
    assert att.post_attlog(serial, BODY, stamp=10882).data == b"OK: 2"
    assert _pending(att) == 1  # durable before the reply, waiting for the job
    with att.sessions() as session:  # the job dies after doing all its work, before its commit
        report = ingest.process_pending(session, _config(att), datetime.now(UTC))
        assert (report.uploads, report.punches, report.matched, report.rejected) == (1, 2, 2, 1)
        session.rollback()
    assert _pending(att) == 1 and att.punches(nip, date(2025, 1, 29)) == []
    done = att.work()  # restarted: the same upload, processed once
    assert (done.uploads, done.punches, done.rejected) == (1, 2, 1)
    assert att.work().uploads == 0
    assert len(att.punches(nip, date(2025, 1, 29))) == 2
    assert [len(day["punch_ids"]) for day in att.days(nip, date(2025, 1, 29))] == [2]  # built with its punches
    assert len(att.outbox("attendance.day.built")) == 1
    assert len(att.client.get(f"/devices/{serial}/rejected", headers=att.admin).json["rejected"]) == 1
    assert att.post_attlog(serial, BODY).data == b"OK: 2"  # the device re-sends: nothing new
    assert att.work().punches == 0 and len(att.outbox("attendance.day.built")) == 1


def test_the_work_process_turns_uploads_into_punches_until_stopped(att, new_nip):
    serial = att.device()
    nip = att.employee(new_nip())
    att.enrol(serial, "46", nip)
    stop = threading.Event()
    settings = att.client.application.config["SETTINGS"]
    settings = dataclasses.replace(settings, extra=dict(settings.extra, ATTENDANCE_INGEST_NICE="0"))
    worker = threading.Thread(target=jobs.run, args=(settings, stop))
    worker.start()
    try:
        assert att.post_attlog(serial, BODY).data == b"OK: 2"
        deadline = datetime.now(UTC).timestamp() + 20
        while _pending(att) and datetime.now(UTC).timestamp() < deadline:
            stop.wait(0.05)
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not worker.is_alive()
    assert [p["local_time"] for p in att.punches(nip, date(2025, 1, 29))] == [
        "2025-01-29T06:58:48", "2025-01-29T16:02:10"]


def test_an_idle_job_is_woken_by_the_upload_commit_not_by_its_timer(att, new_nip, monkeypatch):
    """With the job's safety-net poll an hour long, uploads are still processed: the upload's commit wakes it."""
    monkeypatch.setattr(jobs, "IDLE_POLL_S", 3600.0)
    serial = att.device()
    nip = att.employee(new_nip())
    att.enrol(serial, "46", nip)
    stop = threading.Event()
    worker = threading.Thread(target=jobs.run, args=(att.client.application.config["SETTINGS"], stop))
    worker.start()
    try:
        for line in BODY.splitlines(keepends=True)[:2]:  # the second once the job is surely waiting again
            stop.wait(2.0)
            assert att.post_attlog(serial, line).data == b"OK: 1"
            deadline = datetime.now(UTC).timestamp() + 30
            while _pending(att) and datetime.now(UTC).timestamp() < deadline:
                stop.wait(0.05)
            assert _pending(att) == 0
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not worker.is_alive()
    assert len(att.punches(nip, date(2025, 1, 29))) == 2


def test_an_enrolment_arriving_while_a_batch_is_stored_still_matches_its_punches(att, new_nip):
    serial = att.device()
    nip = att.employee(new_nip())
    assert att.post_attlog(serial, BODY).data == b"OK: 2"
    with att.sessions() as job:
        ingest.process_pending(job, _config(att), datetime.now(UTC))  # PIN 46 not enrolled yet: unmatched
        enrolling = threading.Thread(target=att.enrol, args=(serial, "46", nip))
        enrolling.start()
        enrolling.join(timeout=1)
        assert enrolling.is_alive()  # the enrolment waits for the batch being stored ...
        job.commit()
    enrolling.join(timeout=10)
    assert not enrolling.is_alive()
    assert len(att.punches(nip, date(2025, 1, 29))) == 2  # ... and then matches its punches
    assert [len(day["punch_ids"]) for day in att.days(nip, date(2025, 1, 29))] == [2]  # and builds their day


def test_each_device_is_announced_on_first_contact_and_again_after_a_silence(att):
    from sqlalchemy import update
    first, second = "SEEN" + "1" * 8, "SEEN" + "2" * 8
    for serial in (first, second, first, second):
        assert att.client.get(f"/iclock/getrequest?SN={serial}").data == b"OK"
    assert sorted(e.key for e in att.outbox("attendance.device.seen")) == [first, second]
    silent_for = _config(att).silent_minutes + 5
    with att.sessions() as session, session.begin():
        session.execute(update(tables.devices).where(tables.devices.c.device_serial == first).values(
            last_seen_at=func.now() - func.make_interval(0, 0, 0, 0, 0, silent_for)))
    assert att.post_attlog(first, BODY, stamp=7).data == b"OK: 2"
    assert att.post_attlog(second, BODY, stamp=7).data == b"OK: 2"
    assert sorted(e.key for e in att.outbox("attendance.device.seen")) == [first, first, second]
    handshake = att.client.get(f"/iclock/cdata?SN={first}&options=all").data.decode()
    assert "ATTLOGStamp=0" in handshake  # a pending device's stamps stay: once approved it is asked from 0
    assert att.client.post(f"/devices/{first}/approve", json={}, headers=att.admin).status_code == 200
    assert att.post_attlog(first, BODY, stamp=7).data == b"OK: 2"
    assert "ATTLOGStamp=7" in att.client.get(f"/iclock/cdata?SN={first}&options=all").data.decode()


def test_the_day_events_of_ingested_punches_are_written_exactly_as_the_contract_dumps_them(att, new_nip):
    import json

    from runtime.events import make_event
    serial = att.device(zone="Asia/Jayapura")
    nip = att.employee(new_nip(), zone="Asia/Jayapura")
    att.enrol(serial, "46", nip)
    att.post_attlog(serial, BODY)
    att.work()
    outbox = tables.outbox
    with att.sessions() as session:
        payloads = [r.payload for r in session.execute(select(outbox.c.payload).where(
            outbox.c.type == "attendance.day.built"))]
    assert len(payloads) == 1
    for payload in payloads:
        wire = json.loads(payload)
        again = make_event(wire["type"], wire["key"], wire["data"], wire["producer"],
                           datetime.fromisoformat(wire["occurred_at"]), event_id=wire["event_id"])
        assert again.to_json() == payload


def test_a_batch_matches_each_punch_to_its_own_device_and_pins_active_enrolment_only(att, new_nip):
    """Two devices in one batch, each enrolling one of the PINs both post (and one enrolment inactive): a punch is
    matched only by its own (device, PIN), never by the same PIN on the other device."""
    first, second = att.device(), att.device(zone="Asia/Makassar")
    one, two, gone = att.employee(new_nip()), att.employee(new_nip(), zone="Asia/Makassar"), att.employee(new_nip())
    att.enrol(first, "46", one)
    att.enrol(second, "47", two)
    att.enrol(second, "48", gone, active=False)
    body = "".join(f"{pin}\t2025-01-29 07:0{n}:00\t0\t15\t0\r\n" for n, pin in enumerate(("46", "47", "48")))
    assert att.post_attlog(first, body).data == b"OK: 3"
    assert att.post_attlog(second, body).data == b"OK: 3"
    done = att.work()
    assert (done.uploads, done.punches, done.matched) == (2, 6, 2)
    p = tables.punches.c
    with att.sessions() as session:
        stored = {(r.device_serial, r.pin): r.employee_id for r in session.execute(select(p.device_serial, p.pin,
                                                                                           p.employee_id))}
    assert stored == {(first, "46"): one, (first, "47"): None, (first, "48"): None,
                      (second, "46"): None, (second, "47"): two, (second, "48"): None}
    assert sorted((e.key, len(e.data["punch_ids"])) for e in att.outbox("attendance.day.built")) == \
        sorted([(one, 1), (two, 1)])  # the days built are those of the matched punches only


def test_an_employee_whose_days_cannot_be_built_keeps_their_punches_and_holds_up_no_one_else(att, new_nip):
    """The ingest job builds the days of the punches it stores. One employee's schedule cannot be read: every punch
    of the batch is stored, every other employee's day is built, and the one that could not be is counted."""
    from prometheus_client import REGISTRY
    from sqlalchemy import insert
    with att.sessions.begin() as session:  # projected as it came, past the directory's own checks
        session.execute(insert(tables.schedules).values(schedule_id="broken", definition={"days": "?"}, active=True))
    serial = att.device()
    good = [att.employee(new_nip()) for _ in range(3)]
    poison = att.employee(new_nip(), schedule_id="broken")
    for n, nip in enumerate(good + [poison]):
        att.enrol(serial, str(n + 1), nip)
    body = "".join(f"{n + 1}\t2025-01-27 {hour}:2{n}:00\t0\t15\t0\r\n" for n in range(4) for hour in ("07", "16"))
    failed = REGISTRY.get_sample_value("kinerja_attendance_day_builds_failed_total") or 0
    assert att.post_attlog(serial, body).data == b"OK: 8"
    done = att.work()
    assert (done.uploads, done.punches, done.matched) == (1, 8, 8)
    assert sorted(e.key for e in att.outbox("attendance.day.built")) == sorted(good)
    assert [len(att.days(nip, date(2025, 1, 27))) for nip in good] == [1, 1, 1]
    assert len(att.punches(poison, date(2025, 1, 27))) == 2 and att.days(poison, date(2025, 1, 27)) == []
    assert REGISTRY.get_sample_value("kinerja_attendance_day_builds_failed_total") == failed + 1
