"""The ingest job as several processes on PostgreSQL: two jobs working the same backlog at once never take the
same upload (their claim is `FOR UPDATE SKIP LOCKED`), and together store each punch and its event once."""
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
    assert total.punches == total.published == DEVICES * UPLOADS * LINES
    assert len(att.outbox("attendance.punch.recorded")) == DEVICES * UPLOADS * LINES
