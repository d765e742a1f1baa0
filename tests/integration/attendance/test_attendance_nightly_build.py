"""The nightly build of every finished date on PostgreSQL: beside the upload loop, not in it; committed chunk by
chunk, a date closed only once every chunk is built; resumed after a crash without publishing anything twice;
built by one job process of several (the lease)."""
import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from attendance import jobs, tables
from attendance.handlers import days

pytestmark = pytest.mark.postgres

BODY = "46\t2025-01-29 06:58:48\t0\t15\t0\t0\t0\t0\t0\t0\t10881\r\n"
# Tuesday 28 January 2025, 05:00 UTC = 12:00 WIB: Monday the 27th is the latest finished date.
NOON = datetime(2025, 1, 28, 5, 0, tzinfo=UTC)
MONDAY = date(2025, 1, 27)
WAIT_S = 30  # how long a test waits for what it expects before failing (never a measure of speed)


def _closed(att) -> list[date]:
    with att.sessions() as session:
        return session.execute(select(tables.closed_dates.c.local_date).order_by(tables.closed_dates.c.local_date)
                               ).scalars().all()


def _built(att, local_date: date) -> list[str]:
    d = tables.days.c
    with att.sessions() as session:
        return session.execute(select(d.employee_id).where(d.local_date == local_date).order_by(d.employee_id)
                               ).scalars().all()


def _published(att, local_date: date) -> list[str]:
    return sorted(e.key for e in att.outbox("attendance.day.built") if e.data["local_date"] == local_date)


def _until(condition, stop: threading.Event) -> bool:
    deadline = datetime.now(UTC).timestamp() + WAIT_S
    while not condition() and datetime.now(UTC).timestamp() < deadline:
        stop.wait(0.05)
    return condition()


def _pending(att) -> int:
    r = tables.raw_uploads.c
    with att.sessions() as session:
        return len(session.execute(select(r.id).where(r.processed_at.is_(None))).all())


def test_uploads_are_processed_while_the_nightly_build_is_underway(att, new_nip, monkeypatch):
    """The build is held after its first chunk (committed, the date still open); an upload posted then becomes
    punches all the same; released, the build finishes and closes the date."""
    monkeypatch.setattr(days, "_BUILD_CHUNK", 2)
    staff = sorted(att.employee(new_nip()) for _ in range(5))
    serial = att.device()
    att.enrol(serial, "46", staff[0])
    underway, release = threading.Event(), threading.Event()
    real = days.build_next_chunk
    dates = []

    def held_after_the_first_chunk(session, local_date, config, after=None, employee_ids=None):
        dates.append(local_date)
        if after is not None and not release.is_set():
            underway.set()
            release.wait(WAIT_S)
        return real(session, local_date, config, after, employee_ids)

    monkeypatch.setattr(days, "build_next_chunk", held_after_the_first_chunk)
    stop = threading.Event()
    worker = threading.Thread(target=jobs.run, args=(att.client.application.config["SETTINGS"], stop))
    worker.start()
    try:
        assert underway.wait(WAIT_S)
        latest = dates[0]  # the latest finished date: a first run builds that one only
        assert _built(att, latest) == staff[:2] and _closed(att) == []  # the first chunk is committed, the date open
        assert att.post_attlog(serial, BODY).data == b"OK: 1"
        assert _until(lambda: _pending(att) == 0, stop)  # processed while the build is held ...
        assert len(att.punches(staff[0], date(2025, 1, 29))) == 1
        assert _closed(att) == [] and not release.is_set()  # ... which it still is
        release.set()
        assert _until(lambda: _closed(att) == [latest], stop)
    finally:
        release.set()
        stop.set()
        worker.join(timeout=WAIT_S)
    assert not worker.is_alive()
    assert _built(att, latest) == staff and _published(att, latest) == staff


def test_a_build_crashed_half_way_resumes_and_a_redone_chunk_publishes_nothing_new(att, new_nip, monkeypatch):
    monkeypatch.setattr(days, "_BUILD_CHUNK", 2)
    config = att.client.application.extensions["kinerja"].service
    staff = sorted(att.employee(new_nip()) for _ in range(5))
    real = days.build_next_chunk
    chunks = []

    def crashing_in_the_third_chunk(session, local_date, config, after=None, employee_ids=None):
        result = real(session, local_date, config, after, employee_ids)
        chunks.append(result)
        if len(chunks) == 3:
            raise RuntimeError("the process died before this chunk's commit")
        return result

    monkeypatch.setattr(days, "build_next_chunk", crashing_in_the_third_chunk)
    with pytest.raises(RuntimeError):
        jobs.close_finished_dates(att.sessions, config, NOON)
    assert [built for _, built, _ in chunks] == [2, 2, 1]
    assert _built(att, MONDAY) == staff[:4] and _published(att, MONDAY) == staff[:4]  # two chunks committed
    assert _closed(att) == []  # the date is not closed: it is built again from its start
    monkeypatch.setattr(days, "build_next_chunk", real)
    assert jobs.close_finished_dates(att.sessions, config, NOON) == [MONDAY]
    assert _closed(att) == [MONDAY]
    assert _built(att, MONDAY) == staff
    assert _published(att, MONDAY) == staff  # the two chunks redone changed and published nothing
    assert [d["status"] for nip in staff for d in att.days(nip, MONDAY)] == ["absent"] * 5


def test_a_build_told_to_stop_leaves_its_date_open_and_the_next_run_closes_it(att, new_nip, monkeypatch):
    monkeypatch.setattr(days, "_BUILD_CHUNK", 2)
    config = att.client.application.extensions["kinerja"].service
    staff = sorted(att.employee(new_nip()) for _ in range(3))
    looks = []

    def once():
        looks.append(True)
        return len(looks) == 1

    assert jobs.close_finished_dates(att.sessions, config, NOON, once) == []
    assert _built(att, MONDAY) == staff[:2] and _closed(att) == []
    assert jobs.close_finished_dates(att.sessions, config, NOON) == [MONDAY]
    assert _built(att, MONDAY) == staff and _published(att, MONDAY) == staff
    with att.sessions() as session:
        assert session.execute(select(tables.closed_dates.c.employees)).scalar() == 3


def test_only_the_holder_of_the_lease_builds_the_finished_dates(att, new_nip, monkeypatch):
    """Another job process holds the lease: this one's nightly thread looks, stands by and builds nothing; once the
    holder is gone, it takes the lease over and builds."""
    from runtime.lease import Lease
    nip = att.employee(new_nip())
    engine = att.sessions.kw["bind"]
    other = Lease(engine, jobs.DAYS_LEASE)
    assert other.held()
    answers = []
    looked = threading.Event()

    class Watched(Lease):
        def held(self):
            answers.append(super().held())
            looked.set()
            return answers[-1]

    monkeypatch.setattr(jobs, "Lease", Watched)
    monkeypatch.setattr(jobs, "CLOSE_DATES_EVERY_S", 0.1)
    halt = threading.Event()
    config = att.client.application.extensions["kinerja"].service
    nightly = threading.Thread(target=jobs.keep_days, args=(att.sessions, config, halt))
    nightly.start()
    try:
        assert looked.wait(WAIT_S)
        assert answers[0] is False and _closed(att) == []
        other.close()
        assert _until(lambda: len(_closed(att)) == 1, halt)
    finally:
        halt.set()
        nightly.join(timeout=WAIT_S)
        other.close()
    assert not nightly.is_alive()
    [closed] = _closed(att)
    assert _built(att, closed) == [nip] and _published(att, closed) == [nip]


def test_on_sqlite_the_job_ingests_and_builds_the_finished_date_side_by_side(tmp_path, make_app, token, new_nip):
    """The embedded default: one SQLite file, the upload loop and the nightly thread each writing it in turn."""
    from sqlalchemy import insert

    from runtime.db import make_engine, make_session_factory
    from runtime.migrate import upgrade
    url = f"sqlite:///{tmp_path / 'attendance.db'}"
    upgrade("attendance", url)
    app = make_app("attendance", url)
    engine = make_engine(url)
    sessions = make_session_factory(engine, tables.metadata)
    staff = sorted(new_nip() for _ in range(3))
    with sessions.begin() as session:
        session.execute(insert(tables.employees), [{"employee_id": nip, "unit_id": "dinkes", "zone": "Asia/Jakarta",
                                                    "schedule_id": None, "active": True} for nip in staff])
    client = app.test_client()
    serial = "CQUJ" + new_nip()[-10:]
    assert client.post("/devices", json={"device_serial": serial, "zone": "Asia/Jakarta", "location": "Lobi"},
                       headers=token(new_nip(), "admin")).status_code == 201
    stop = threading.Event()
    worker = threading.Thread(target=jobs.run, args=(app.config["SETTINGS"], stop))
    worker.start()
    r, c = tables.raw_uploads.c, tables.closed_dates.c

    def done() -> bool:
        with sessions() as session:
            return (session.execute(select(r.id).where(r.processed_at.is_(None))).first() is None
                    and session.execute(select(c.local_date)).first() is not None)

    try:
        assert client.post(f"/iclock/cdata?SN={serial}&table=ATTLOG", data=BODY.encode(),
                           content_type="application/x-www-form-urlencoded").data == b"OK: 1"
        assert _until(done, stop)
    finally:
        stop.set()
        worker.join(timeout=WAIT_S)
        app.extensions["kinerja"].engine.dispose()
    assert not worker.is_alive()
    d = tables.days.c
    with sessions() as session:
        [closed] = session.execute(select(c.local_date)).scalars().all()
        assert session.execute(select(d.employee_id).where(d.local_date == closed).order_by(d.employee_id)
                               ).scalars().all() == staff
        assert session.execute(select(tables.punches.c.id)).first() is not None
    engine.dispose()
