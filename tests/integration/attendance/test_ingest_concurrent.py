"""The ingest job as several processes on PostgreSQL: two jobs working the same backlog at once never take the
same upload (their claim is `FOR UPDATE SKIP LOCKED`), and together store each punch once and build each day with
all its punches, also when one person's punches come in uploads two jobs hold at once."""
import threading
from datetime import UTC, datetime

import pytest

from attendance.handlers import ingest
from runtime.uow import unit_of_work

pytestmark = pytest.mark.postgres

DEVICES, UPLOADS, LINES = 4, 15, 6


def _body(upload: int) -> str:
    return "".join(f"{pin}\t2025-01-{upload + 1:02d} 0{pin}:00:{second:02d}\t0\t15\t0\t0\t0\t0\t0\t0\t{upload * 100 + pin * 10 + second}\r\n"
                   for pin in (1, 2) for second in range(LINES // 2))


def test_two_jobs_at_once_process_every_upload_once(att, new_nip):
    config = att.client.application.extensions["kinerja"].service
    for _ in range(DEVICES):
        serial = att.device()
        for pin in ("1", "2"):
            att.enrol(serial, pin, att.employee(new_nip()))
        for upload in range(UPLOADS):
            assert att.post_attlog(serial, _body(upload)).data == f"OK: {LINES}".encode()
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
