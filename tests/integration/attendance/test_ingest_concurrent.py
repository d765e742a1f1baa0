"""The ingest job as several processes on PostgreSQL: two jobs working the same backlog at once never take the
same upload (their claim is `FOR UPDATE SKIP LOCKED`), and together store each punch once and build each day with
all its punches, also when one person's punches come in uploads two jobs hold at once. One job process drains with
several loops side by side (`jobs.drain`'s workers) the same way."""
import threading
from datetime import UTC, datetime

import pytest

from attendance import jobs
from attendance.handlers import ingest
from runtime.uow import unit_of_work

pytestmark = pytest.mark.postgres

DEVICES, UPLOADS, LINES = 4, 15, 6


def _body(upload: int) -> str:
    return "".join(f"{pin}\t2025-01-{upload + 1:02d} 0{pin}:00:{second:02d}\t0\t15\t0\t0\t0\t0\t0\t0\t{upload * 100 + pin * 10 + second}\r\n"
                   for pin in (1, 2) for second in range(LINES // 2))


def _backlog(att, new_nip) -> None:
    for _ in range(DEVICES):
        serial = att.device()
        for pin in ("1", "2"):
            att.enrol(serial, pin, att.employee(new_nip()))
        for upload in range(UPLOADS):
            assert att.post_attlog(serial, _body(upload)).data == f"OK: {LINES}".encode()


def test_two_jobs_at_once_process_every_upload_once(att, new_nip):
    config = att.client.application.extensions["kinerja"].service
    _backlog(att, new_nip)
    start = threading.Barrier(2)
    reports = [ingest.IngestReport(), ingest.IngestReport()]

    def job(n: int) -> None:
        start.wait()
        while True:
            with unit_of_work(att.sessions) as session:
                report = ingest.process_pending(session, config, datetime.now(UTC), limit=3)
            if not report.uploads:
                return
            reports[n] += report

    jobs = [threading.Thread(target=job, args=(n,)) for n in range(2)]
    for thread in jobs:
        thread.start()
    for thread in jobs:
        thread.join(timeout=120)
    total = reports[0] + reports[1]
    assert reports[0].uploads and reports[1].uploads, "one job did all the work: nothing ran concurrently"
    assert total.uploads == DEVICES * UPLOADS  # a twice-claimed upload would be counted by both jobs
    assert total.punches == total.matched == DEVICES * UPLOADS * LINES
    built = att.outbox("attendance.day.built")  # each employee's day of each upload, built once with its punches
    assert sorted(len(e.data["punch_ids"]) for e in built) == [LINES // 2] * (DEVICES * 2 * UPLOADS)


def test_one_job_draining_with_two_loops_processes_every_upload_once(att, new_nip, monkeypatch):
    config = att.client.application.extensions["kinerja"].service
    _backlog(att, new_nip)
    threads = set()
    process_pending = ingest.process_pending

    def recorded(*args, **kwargs):
        report = process_pending(*args, **kwargs)
        if report.uploads:
            threads.add(threading.current_thread().name)
        return report

    monkeypatch.setattr(ingest, "process_pending", recorded)
    total = jobs.drain(att.sessions, config, batch=3, workers=2)
    assert len(threads) == 2, "one loop did all the work: nothing ran side by side"
    assert total.uploads == DEVICES * UPLOADS
    assert total.punches == total.matched == DEVICES * UPLOADS * LINES
    built = att.outbox("attendance.day.built")
    assert sorted(len(e.data["punch_ids"]) for e in built) == [LINES // 2] * (DEVICES * 2 * UPLOADS)
    assert jobs.drain(att.sessions, config, batch=3, workers=2).uploads == 0


def test_a_failing_loop_fails_the_drain_once_the_others_have_stopped_and_loses_nothing(att, new_nip, monkeypatch):
    config = att.client.application.extensions["kinerja"].service
    _backlog(att, new_nip)
    process_pending = ingest.process_pending

    def failing_in_the_other_loop(*args, **kwargs):
        report = process_pending(*args, **kwargs)
        if report.uploads and threading.current_thread() is not threading.main_thread():
            raise RuntimeError("the database went away")  # after its work, before its commit
        return report

    monkeypatch.setattr(ingest, "process_pending", failing_in_the_other_loop)
    with pytest.raises(RuntimeError, match="went away"):
        jobs.drain(att.sessions, config, batch=3, workers=2)
    monkeypatch.setattr(ingest, "process_pending", process_pending)
    # The failed batch was rolled back: taken by the other loop if it was still going, else by the next drain.
    jobs.drain(att.sessions, config, batch=3)
    assert jobs.drain(att.sessions, config, batch=3).uploads == 0
    built = att.outbox("attendance.day.built")
    assert sorted(len(e.data["punch_ids"]) for e in built) == [LINES // 2] * (DEVICES * 2 * UPLOADS)


def test_two_jobs_holding_one_persons_punches_at_once_build_her_day_with_both(att, new_nip):
    """One employee enrolled on two devices punches in on one and out on the other; the two uploads are stored by two
    jobs at once. The second job waits for the first's commit before it builds her day (the employee's row is
    locked by the first), then reads both punches: neither job writes a day missing the other's punch."""
    config = att.client.application.extensions["kinerja"].service
    entrance, exit_ = att.device(), att.device()
    nip = att.employee(new_nip())
    att.enrol(entrance, "7", nip)
    att.enrol(exit_, "7", nip)
    assert att.post_attlog(entrance, "7\t2025-01-06 07:30:00\t0\t15\t0\r\n").data == b"OK: 1"
    assert att.post_attlog(exit_, "7\t2025-01-06 16:05:00\t1\t15\t0\r\n").data == b"OK: 1"
    with att.sessions() as first:
        assert ingest.process_pending(first, config, datetime.now(UTC), device_serial=entrance).matched == 1
        second = threading.Thread(target=lambda: _process(att, config, exit_))
        second.start()
        second.join(timeout=1)
        assert second.is_alive()  # the second job waits to build her day ...
        first.commit()
    second.join(timeout=30)
    assert not second.is_alive()
    [day] = att.days(nip, datetime(2025, 1, 6).date())
    assert len(day["punch_ids"]) == 2  # ... and builds it with the first job's punch too
    assert (day["clock_in"], day["clock_out"]) == ("2025-01-06T00:30:00+00:00", "2025-01-06T09:05:00+00:00")


def _process(att, config, serial: str) -> None:
    with unit_of_work(att.sessions) as session:
        assert ingest.process_pending(session, config, datetime.now(UTC), device_serial=serial).matched == 1
