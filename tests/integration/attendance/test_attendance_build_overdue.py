"""How far the nightly build is behind, as Prometheus scrapes it (`kinerja_attendance_date_build_overdue_seconds`) on
PostgreSQL: a fresh install owes the latest finished date, a build on time owes nothing, a stuck one owes more by the
clock, and past the 31-date catch-up the figure stays at the oldest date the build still owes."""
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert

from attendance import jobs, monitoring, tables
from attendance.handlers import days

pytestmark = pytest.mark.postgres

NAME = "kinerja_attendance_date_build_overdue_seconds"
# Tuesday 28 January 2025, 05:00 UTC = 12:00 WIB: Monday the 27th finishes (ATTENDANCE_CLOSE_DAY_AFTER_HOURS 12).
NOON = datetime(2025, 1, 28, 5, 0, tzinfo=UTC)
MONDAY = date(2025, 1, 27)
HOUR = 3600.0


def _config(att):
    return att.client.application.extensions["kinerja"].service


def _overdue(att, now: datetime, config=None) -> float:
    [gauge] = [g for g in monitoring.gauges(config or _config(att)) if g.name == NAME]
    with att.sessions() as session:
        [(labels, value)] = list(gauge.query(session, now))
    assert labels == ()
    return value


def _close(att, *local_dates: date) -> None:
    with att.sessions.begin() as session:
        session.execute(insert(tables.closed_dates), [{"local_date": d, "closed_at": NOON, "employees": 0}
                                                      for d in local_dates])


def test_a_fresh_install_owes_the_latest_finished_date_from_the_moment_it_finished(att):
    assert _overdue(att, NOON - timedelta(seconds=1)) == 23 * HOUR + 3599  # Sunday, finished Monday 12:00 WIB
    assert _overdue(att, NOON) == 0.0  # Monday has just finished
    assert _overdue(att, NOON + timedelta(hours=1)) == HOUR


def test_a_build_on_time_owes_nothing_until_the_next_date_finishes(att, new_nip):
    att.employee(new_nip())
    assert _overdue(att, NOON + timedelta(minutes=1)) == 60.0
    assert jobs.close_finished_dates(att.sessions, _config(att), NOON + timedelta(minutes=1)) == [MONDAY]
    assert _overdue(att, NOON + timedelta(minutes=1)) == 0.0
    assert _overdue(att, NOON + timedelta(days=1) - timedelta(seconds=1)) == 0.0
    assert _overdue(att, NOON + timedelta(days=1, minutes=5)) == 300.0  # Tuesday finished five minutes ago


def test_a_stuck_build_owes_its_oldest_open_date_by_the_clock(att):
    _close(att, MONDAY - timedelta(days=1), MONDAY)
    # Thursday 14:00 WIB: Tuesday finished Wednesday 12:00 WIB, Wednesday two hours ago; the oldest counts
    assert _overdue(att, NOON + timedelta(days=2, hours=2)) == 26 * HOUR
    _close(att, MONDAY + timedelta(days=1))  # the build catches Tuesday up; Wednesday is still open
    assert _overdue(att, NOON + timedelta(days=2, hours=2)) == 2 * HOUR


def test_past_the_catch_up_cap_it_shows_the_oldest_date_the_build_still_owes(att):
    _close(att, MONDAY)
    forty_days_later = NOON + timedelta(days=40, hours=3)
    with att.sessions() as session:
        assert len(days.dates_to_close(session, _config(att), forty_days_later)) == 31
    assert _overdue(att, forty_days_later) == 30 * 24 * HOUR + 3 * HOUR
    assert _overdue(att, forty_days_later + timedelta(days=10)) == 30 * 24 * HOUR + 3 * HOUR


@pytest.mark.parametrize("hours", [12, 6, 0])
def test_a_date_counts_from_the_instant_dates_to_close_starts_returning_it(att, hours):
    config = replace(_config(att), close_day_after_hours=hours)
    _close(att, MONDAY - timedelta(days=1))
    finished = days.date_finished_at(MONDAY, config)
    with att.sessions() as session:
        assert days.dates_to_close(session, config, finished - timedelta(microseconds=1)) == []
        assert days.dates_to_close(session, config, finished) == [MONDAY]
    assert finished == datetime(2025, 1, 27, 17, tzinfo=UTC) + timedelta(hours=hours)  # midnight WIB + the delay
    assert _overdue(att, finished - timedelta(microseconds=1), config) == 0.0
    assert _overdue(att, finished + timedelta(minutes=7), config) == 420.0


def test_the_scrape_carries_the_gauge(att):
    """As a scrape collects it (`QueryCollector`, at the clock's time): a fresh install owes the latest finished date,
    less than a day; closed by the build, nothing."""
    from runtime.monitoring import QueryCollector
    collector = QueryCollector(att.sessions, monitoring.gauges(_config(att)))

    def scraped() -> float:
        [sample] = [s for family in collector.collect() for s in family.samples if s.name == NAME]
        return sample.value

    assert 0.0 <= scraped() < 24 * HOUR
    assert len(jobs.close_finished_dates(att.sessions, _config(att), datetime.now(UTC))) == 1
    assert scraped() == 0.0
