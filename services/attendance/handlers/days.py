"""Absences and attendance days: a day is built from an employee's punches, schedule, holidays and absences.

Building days is not on the upload request: the ingest job stores an upload's punches and, in the same
transaction, rebuilds the days they belong to (`punches.build_days_of` -> `on_punches_recorded`: each employee's
dates once for a whole batch, everything read and written set-based by `rebuild_many`, each employee's row locked
so that two jobs take turns). Absences and `build_days_for_date` build days directly, through the same
`rebuild_many`; the nightly build of every finished date for everyone (`dates_to_close`, `build_next_chunk`,
`close_date`) is run by the attendance job, one transaction per chunk of employees
(`attendance.jobs.close_finished_dates`).
"""
from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Text, and_, case, cast, false, func, insert, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from attendance import tables
from attendance.config import AttendanceConfig
from attendance.domain.days import Absence, AttendanceDay, Punch, assign_to_windows, build_day, shift_windows
from attendance.domain.schedule import default_schedule, planned_shift, schedule_from_dict
from attendance.handlers.shared import PRODUCER, aware, iso
from runtime.db import among, insert_for, insert_rows, upsert_rows
from runtime.events import dumped_events
from runtime.messaging import publish
from runtime.errors import Invalid


def record_absence(session: Session, data: dict, recorded_by: str, now: datetime, config: AttendanceConfig) -> dict:
    """Record leave, sick leave, official duty (dinas luar: needs the letter reference) or permission.

    Days already built in the range are rebuilt (a new version when the absence changes them).
    """
    if data["end_date"] < data["start_date"]:
        raise Invalid("the absence ends before it starts", field="end_date", message="must not be before start_date")
    if data["kind"] == "duty" and not (data.get("reference") or "").strip():
        raise Invalid("official duty needs its assignment letter", field="reference",
                      message="the assignment letter (surat tugas) number is required")
    absence_id = session.execute(insert(tables.absences).values(
        employee_id=data["employee_id"], kind=data["kind"], start_date=data["start_date"], end_date=data["end_date"],
        reference=data.get("reference"), recorded_by=recorded_by, recorded_at=now)
        .returning(tables.absences.c.id)).scalar_one()
    d = tables.days.c
    built = {r.local_date for r in session.execute(select(d.local_date).where(
        d.employee_id == data["employee_id"], d.local_date >= data["start_date"], d.local_date <= data["end_date"]))}
    if built:
        rebuild_days(session, data["employee_id"], built, config)
    return _absence_view(session.execute(select(tables.absences).where(tables.absences.c.id == absence_id)).one())


def _absence_view(row) -> dict:
    return {"absence_id": row.id, "employee_id": row.employee_id, "kind": row.kind,
            "start_date": row.start_date.isoformat(), "end_date": row.end_date.isoformat(),
            "reference": row.reference, "recorded_by": row.recorded_by, "recorded_at": iso(row.recorded_at)}


def list_absences(session: Session, employee_id: str, start: date, end: date) -> list[dict]:
    """An employee's absences overlapping start..end."""
    a = tables.absences.c
    rows = session.execute(select(tables.absences).where(
        a.employee_id == employee_id, a.start_date <= end, a.end_date >= start).order_by(a.start_date, a.id))
    return [_absence_view(r) for r in rows]


# --- days ------------------------------------------------------------------------------------------------

def holiday_dates(session: Session, start: date, end: date) -> set[date]:
    h = tables.holidays.c
    return {r.date for r in session.execute(select(h.date).where(h.active.is_(True), h.date >= start, h.date <= end))}


def _day_content(day: AttendanceDay) -> dict:
    """A built day's stored content: its attributes but the version (the row's, as the correction is), in their order,
    as the day holds them (dates, instants, its status and absence kind as `StrEnum`s, its punch ids as a tuple). Their
    JSON (`runtime.jsoncodec`, which writes the `content` column and the event's payload) is the text of the day's
    `attendance.day.built` dump without those two keys (`test_attendance_day_content.py`): orjson writes a date, an
    instant in UTC (every instant of a built day is one), a `StrEnum` and a tuple as the schema's fields dump them,
    without the 5-6 µs of that dump a day."""
    content = vars(day).copy()
    del content["version"]
    return content


def _pending_doubts(session: Session, employee_ids: list[str]) -> dict[str, list[str]]:
    """Punch id -> the doubt kinds of the employees' check-ins from a phone that await the supervisor's review."""
    c = tables.checkins.c
    return {str(r.punch_id): [d["kind"] for d in r.doubts] for r in session.execute(
        select(c.punch_id, c.doubts).where(c.review == "pending", among(session, c.employee_id, employee_ids)))}


def _local_midnight_utc(local_date: date, zone: str) -> datetime:
    return datetime.combine(local_date, time(0), ZoneInfo(zone)).astimezone(UTC)


@functools.lru_cache(maxsize=1024)
def _punch_bounds(first: date, last: date, zone: str) -> tuple[datetime, datetime]:
    """The UTC instants between which a build window's punches are read (a batch's windows mostly share theirs):
    from the local midnight after `first` to the local midnight starting `last`."""
    return _local_midnight_utc(first + timedelta(days=1), zone), _local_midnight_utc(last, zone)


def rebuild_days(session: Session, employee_id: str, dates: Iterable[date], config: AttendanceConfig,
                 force: bool = False) -> list[dict]:
    """Build the given local dates of one employee (`rebuild_many` with one employee)."""
    return rebuild_many(session, {employee_id: dates}, config, force)


def _clusters(dates: Iterable[date]) -> list[list[date]]:
    """Sorted dates split where two are more than a day apart: each run is built over its own window, as a
    punch event's own dates would be, so an old date in the same batch does not widen everyone's reads."""
    ordered = sorted(set(dates))
    if ordered and (ordered[-1] - ordered[0]).days == len(ordered) - 1:
        return [ordered]  # consecutive dates (a punch event's three, mostly): one run
    clusters: list[list[date]] = []
    for local_date in ordered:
        if clusters and (local_date - clusters[-1][-1]).days <= 1:
            clusters[-1].append(local_date)
        else:
            clusters.append([local_date])
    return clusters


def _schedules(session: Session, schedule_ids: set[str]) -> dict:
    if not schedule_ids:
        return {}
    s = tables.schedules.c
    return {r.schedule_id: schedule_from_dict(r.definition) for r in session.execute(
        select(s.schedule_id, s.definition).where(among(session, s.schedule_id, sorted(schedule_ids)), s.active.is_(True)))}


class _Employee(NamedTuple):
    """What a build reads of the projected employee. A plain tuple rather than the row it is read from: a row's
    attribute is looked up by name at each read (about 0.35 µs), and a poll reads each employee's several times."""

    zone: str
    schedule_id: str | None
    unit_id: str
    span: tuple[date, date] | None = None  # (first, last) date between which their stored days were read, if read
    stored: frozenset = frozenset()  # the dates of their stored days within `span`


def _employees(session: Session, ids: Iterable[str], span: tuple[date, date] | None = None) -> dict[str, _Employee]:
    """Employee id -> what a build reads of the projected employee (zone, schedule, unit), for the ids given that
    attendance knows; on PostgreSQL each row locked to the commit (`FOR NO KEY UPDATE`, in id order, so two builders
    wait rather than deadlock). Every build of days reads them first: two transactions building one employee's days
    (two ingest processes with punches of one person from two uploads, the nightly build, an absence) take turns,
    the second reading the first's punches once it has committed, so neither writes a day missing the other's punch.
    Row locks, not advisory locks: a batch locks thousands of employees, more than PostgreSQL's lock table holds.
    With `span` (first, last date), on PostgreSQL, each also carries the dates of their stored days within it, read in
    the same statement (one range of the days' primary key each): `_write_days` writes their other days as new."""
    e, d = tables.employees.c, tables.days.c
    columns = [e.employee_id, e.zone, e.schedule_id, e.unit_id]
    postgresql = session.bind.dialect.name == "postgresql"
    if postgresql and span is not None:
        columns.append(select(func.array_agg(d.local_date)).where(
            d.employee_id == e.employee_id, d.local_date >= span[0], d.local_date <= span[1]).scalar_subquery())
    query = select(*columns).where(among(session, e.employee_id, ids))
    if postgresql:
        query = query.order_by(e.employee_id).with_for_update(key_share=True)
    if not postgresql or span is None:
        return {employee_id: _Employee(zone, schedule_id, unit_id)
                for employee_id, zone, schedule_id, unit_id in session.execute(query).all()}
    return {employee_id: _Employee(zone, schedule_id, unit_id, span, frozenset(stored) if stored else frozenset())
            for employee_id, zone, schedule_id, unit_id, stored in session.execute(query).all()}


_TWO_DAYS = timedelta(days=2)  # a build window reaches this far either side of its dates, for night shifts' punches


def rebuild_many(session: Session, wanted: Mapping[str, Iterable[date]], config: AttendanceConfig,
                 force: bool = False, new_punches: Mapping[str, set[str]] | None = None,
                 employees: Mapping | None = None) -> list[dict]:
    """Build the given local dates of many employees at once; publish `attendance.day.built` for each day that
    changed, in one outbox statement.

    With `new_punches` (employee -> the ids of punches just recorded), an employee's dates are only those the
    new punches are assigned to: each punch counts for one date, chosen on its own (`assign_punches`), so a
    new punch changes that day and no other, and its neighbours, read to assign it, need no rebuild.

    A date is built when punches belong to it, when it was built before, or when `force` is set (the
    daily build that gives everyone a day). Unchanged content keeps its version and publishes nothing;
    a changed day in a month closed for payroll is published as a correction. What the build reads
    (employees, schedules, holidays, punches, absences, closed months) is read once for all the employees,
    one statement each. The days not stored yet are written by a COPY, the others with one upsert that also decides
    what changed (`_write_days`): PostgreSQL compares each built day's content with the stored one
    (`_content_differs`) and bumps the version of those that differ, so the stored days' content is never read back
    and decoded here. Returns the published days' data, as their events carry it.
    """
    work = [(employee_id, dates) for employee_id, given in wanted.items() for dates in _clusters(given)]
    if not work:
        return []
    ids = sorted({employee_id for employee_id, _ in work})
    p, a, d, m = (tables.punches.c, tables.absences.c, tables.days.c, tables.closed_months.c)
    if employees is None:  # the caller may have read them already (`on_punches_recorded`)
        employees = _employees(session, ids, (min(dates[0] for _, dates in work), max(dates[-1] for _, dates in work)))
    schedules = _schedules(session, {r.schedule_id for r in employees.values() if r.schedule_id})
    windows = []  # (employee_id, employee, zone, schedule, dates, first, last, the UTC bounds of its punches)
    by_bounds = defaultdict(set)  # a punch window in UTC -> the employees reading it (usually one or two windows)
    seen, several = set(), set()  # the employees with more than one window
    default = default_schedule()
    for employee_id, dates in work:
        employee = employees.get(employee_id)
        if employee is None:
            zone, schedule = config.default_zone, default
        else:
            zone = employee.zone
            schedule = schedules.get(employee.schedule_id, default) if employee.schedule_id else default
        first, last = dates[0] - _TWO_DAYS, dates[-1] + _TWO_DAYS
        bounds = _punch_bounds(first, last, zone)
        by_bounds[bounds].add(employee_id)
        if employee_id in seen:
            several.add(employee_id)
        seen.add(employee_id)
        windows.append((employee_id, employee, zone, schedule, dates, first, last, bounds))
    low, high = min(w[5] for w in windows), max(w[6] for w in windows)
    holidays = holiday_dates(session, low, high)
    punches = defaultdict(list)
    for employee_id, punch_id, at in session.execute(select(p.employee_id, p.id, p.at).where(
            p.voided_at.is_(None), or_(*(and_(among(session, p.employee_id, sorted(members)), p.at >= start, p.at < end)
                                         for (start, end), members in by_bounds.items())))).all():
        punches[employee_id].append(Punch(str(punch_id), aware(at)))
    absences = defaultdict(list)
    for r in session.execute(select(tables.absences).where(among(session, a.employee_id, ids), a.start_date <= high,
                                                            a.end_date >= low).order_by(a.id)):
        absences[r.employee_id].append(r)
    built = None  # (employee, date) of the days built before: only asked when a date without punches may be built
    if new_punches is None and not force:
        all_dates = sorted({local_date for _, dates in work for local_date in dates})
        built = {(r.employee_id, r.local_date) for r in session.execute(select(d.employee_id, d.local_date).where(
            among(session, d.employee_id, ids), among(session, d.local_date, all_dates)))}
    pending = _pending_doubts(session, ids)
    units = sorted({r.unit_id for r in employees.values()})
    closed = {(r.unit_id, r.year, r.month) for r in session.execute(select(m.unit_id, m.year, m.month).where(
        among(session, m.unit_id, units), m.year >= low.year, m.year <= high.year))} if units else set()
    now = datetime.now(UTC)
    rows, fresh_rows, candidates = [], [], []
    plans = {}  # (schedule, zone, first, last) -> a window's planned shifts and their punch windows: mostly shared
    for employee_id, employee, zone, schedule, dates, first, last, (start, end) in windows:
        key = (id(schedule), zone, first, last)
        planned = plans.get(key)
        if planned is None:
            shifts = {first + timedelta(days=n): planned_shift(schedule, first + timedelta(days=n), holidays, zone)
                      for n in range((last - first).days + 1)}
            planned = plans[key] = shifts, shift_windows(shifts, config.policy)
        shifts, punch_windows = planned
        own = punches.get(employee_id)
        if own and employee_id in several:  # its punches read are those of all its windows
            own = [punch for punch in own if start <= punch.at < end]
        grouped = assign_to_windows(own, punch_windows, zone) if own else {}
        its_absences = absences.get(employee_id)
        covering = [Absence(r.kind, r.start_date, r.end_date, r.reference) for r in its_absences
                    if r.start_date <= last and r.end_date >= first] if its_absences else ()
        fresh = new_punches.get(employee_id) if new_punches is not None else None
        unit = employee.unit_id if employee is not None and closed else None  # None: none of its days is a correction
        span = employee.span if employee is not None else None  # its stored days were read: its new ones are known
        for local_date in dates:
            day_punches = grouped.get(local_date, ())
            if not day_punches:  # built only for the daily build, or when it was built before
                if fresh is not None or not force and (built is None or (employee_id, local_date) not in built):
                    continue
            elif fresh is not None and fresh.isdisjoint([p.punch_id for p in day_punches]):
                continue
            day = build_day(employee_id, local_date, zone, shifts[local_date], day_punches, covering,
                            local_date in holidays, config.policy, version=1)
            content = _day_content(day)
            if pending:
                doubtful = [{"punch_id": p, "doubts": pending[p]} for p in content["punch_ids"] if p in pending]
                if doubtful:  # left out otherwise: a day without check-ins reads as it always did
                    content["doubtful_punches"] = doubtful
            correction = unit is not None and (unit, local_date.year, local_date.month) in closed
            row = {"employee_id": employee_id, "local_date": local_date, "version": 1, "status": content["status"],
                   "content": content, "correction": correction, "built_at": now}
            if span is not None and span[0] <= local_date <= span[1] and local_date not in employee.stored:
                fresh_rows.append(row)
                candidates.append((None, content, correction))  # written as it is, version 1
            else:
                rows.append(row)
                candidates.append(((employee_id, local_date), content, correction))
    versions = _write_days(session, fresh_rows, rows)
    published = [_day_wire(content, 1 if key is None else versions[key], correction)
                 for key, content, correction in candidates
                 if key is None or key in versions]  # the contents are written: each becomes its event's data in place
    publish(session, *dumped_events("attendance.day.built", [(data["employee_id"], data) for data in published],
                                    PRODUCER))
    return published


def _write_days(session: Session, fresh: list[dict], rows: list[dict]) -> dict[tuple[str, date], int]:
    """Write the built days: `fresh`, known not to be stored (all written, version 1), and `rows`, which may be; return
    the (employee, date) -> version of those of `rows` written: the stored ones whose content changed
    (`_content_differs`, the version bumped) and the new ones; the others are left as they are.

    A day is known not to be stored when its employee's row is locked and their stored days were read with it
    (`_employees` on PostgreSQL: no other builder writes their days until the commit). Those are written by a binary
    COPY (`insert_rows`): a third of what the upsert costs PostgreSQL (about 16 µs a day, inserting each row on its
    own with its speculative check). The others (stored days, and the days of an employee attendance does not know,
    whom nothing locks) go through the upsert."""
    insert_rows(session, tables.days, fresh)
    return {(employee_id, local_date): version for employee_id, local_date, version in upsert_rows(
        session, tables.days, rows, ("employee_id", "local_date"), only_if=_content_differs(session),
        overrides={"version": lambda table, _new: table.c.version + 1},
        returning=("employee_id", "local_date", "version"))}


def _day_wire(content: dict, version: int, correction: bool) -> dict:
    """A changed day's `attendance.day.built` data, made of its content once written (`_day_content`: values whose JSON
    is the schema's dump): the version and correction added, and the empty `doubtful_punches` the stored content
    leaves out (loading it would add just that), in place rather than in a copy of the day's twenty-odd keys."""
    content["version"], content["correction"] = version, correction
    if "doubtful_punches" not in content:
        content["doubtful_punches"] = []
    return content


def _content_differs(session: Session):
    """The upsert's condition: a built day's content differs from the stored day's as a JSON value (as the dicts
    compare, key order and spacing aside). On PostgreSQL the same text is the same content, decided at once (a
    `json` column keeps the text written, and `_day_content` always writes the schema's order); only different
    text is compared as `jsonb` (parsed: about 7 µs a side). SQLite has no `jsonb`: `json()` text there."""
    if session.bind.dialect.name == "postgresql":
        return lambda table, new: case((cast(table.c.content, Text) == cast(new.content, Text), false()),
                                       else_=cast(table.c.content, JSONB) != cast(new.content, JSONB))
    return lambda table, new: func.json(table.c.content) != func.json(new.content)


_BUILD_CHUNK = 1000  # employees per `rebuild_many` in the daily build: bounded IN lists and memory, one transaction each


def build_next_chunk(session: Session, local_date: date, config: AttendanceConfig, after: str | None = None,
                     employee_ids: Iterable[str] | None = None) -> tuple[str | None, int, int]:
    """Build `local_date` for the next `_BUILD_CHUNK` active employees by id after `after` (among `employee_ids` when
    given): (the last one's id, None when none was left; how many; the days that changed and were published).

    A chunk built twice changes nothing the second time (`rebuild_many` publishes changed content only), so a
    build resumed after a crash may redo the chunks before it."""
    e = tables.employees.c
    query = select(e.employee_id).where(e.active.is_(True)).order_by(e.employee_id).limit(_BUILD_CHUNK)
    if after is not None:
        query = query.where(e.employee_id > after)
    if employee_ids is not None:
        query = query.where(among(session, e.employee_id, employee_ids))
    ids = session.execute(query).scalars().all()
    if not ids:
        return None, 0, 0
    changed = rebuild_many(session, {employee_id: [local_date] for employee_id in ids}, config, force=True)
    return ids[-1], len(ids), len(changed)


def build_days_for_date(session: Session, local_date: date, config: AttendanceConfig,
                        employee_ids: Iterable[str] | None = None) -> dict:
    """Build `local_date` for every active employee (or those given), so people with no punch get a day too, chunk
    after chunk in the session's one transaction (the nightly job commits each chunk: `jobs.close_finished_dates`)."""
    employee_ids = None if employee_ids is None else list(employee_ids)
    after, built, changed = None, 0, 0
    while True:
        after, employees, days_changed = build_next_chunk(session, local_date, config, after, employee_ids)
        if after is None:
            return {"local_date": local_date.isoformat(), "employees": built, "days_changed": changed}
        built += employees
        changed += days_changed


# The westernmost zone (WIB) is the last to finish a local date.
_LAST_ZONE = ZoneInfo("Asia/Jakarta")
_MAX_CATCH_UP_DAYS = 31


def dates_to_close(session: Session, config: AttendanceConfig, now: datetime) -> list[date]:
    """The finished local dates not yet built for every active employee, oldest first.

    Every finished date gets a day for everyone, once, so nobody's day is missing: without it an employee
    who never punched would have no day at all, so no absence without notice (TK) and too few effective
    minutes. A date is finished `close_day_after_hours` after it ends in WIB, leaving night shifts time to
    clock out. After a pause, missed dates are caught up (at most 31); on a first run only the latest
    finished date is built, not the whole past. A date is closed (`close_date`) once all its chunks are built.
    """
    latest = (now.astimezone(_LAST_ZONE) - timedelta(hours=config.close_day_after_hours)).date() - timedelta(days=1)
    c = tables.closed_dates.c
    last_closed = session.execute(select(func.max(c.local_date))).scalar()
    first = latest if last_closed is None else max(last_closed + timedelta(days=1),
                                                   latest - timedelta(days=_MAX_CATCH_UP_DAYS - 1))
    return [first + timedelta(days=n) for n in range((latest - first).days + 1)]


def date_finished_at(local_date: date, config: AttendanceConfig) -> datetime:
    """When `local_date` is finished everywhere, by `dates_to_close`'s rule: `close_day_after_hours` after it ends in
    WIB. From then on it is among `dates_to_close` until closed (unless more than 31 dates are open)."""
    return (datetime.combine(local_date + timedelta(days=1), time(0), _LAST_ZONE).astimezone(UTC)
            + timedelta(hours=config.close_day_after_hours))


def close_date(session: Session, local_date: date, closed_at: datetime, employees: int) -> None:
    """Record that `local_date` has been built for every active employee (`employees` of them); a date another
    job process closed meanwhile stays as it closed it."""
    session.execute(insert_for(session, tables.closed_dates).values(
        local_date=local_date, closed_at=closed_at, employees=employees).on_conflict_do_nothing())


def list_days(session: Session, employee_id: str, start: date, end: date) -> list[dict]:
    """An employee's built days within start..end, each with its version and correction flag."""
    d = tables.days.c
    rows = session.execute(select(tables.days).where(d.employee_id == employee_id, d.local_date >= start,
                                                     d.local_date <= end).order_by(d.local_date))
    return [dict(r.content, version=r.version, correction=r.correction) for r in rows]


def on_punches_recorded(session: Session, punches: Iterable[tuple[str, str, datetime, str]],
                        config: AttendanceConfig) -> list[dict]:
    """Rebuild the days of punches just stored, in the caller's transaction: `punches` as (employee id, punch id,
    instant with its offset, the punch's zone), each assigned among its local date and the dates either side, each
    employee's dates once however many of the punches are theirs (an ingest batch's, or one check-in's)."""
    punches = list(punches)
    if not punches:
        return []
    # every date built is within a day of a punch's local date, itself within a day of its UTC date
    instants = [at for _, _, at, _ in punches]
    span = (min(instants).astimezone(UTC).date() - _TWO_DAYS, max(instants).astimezone(UTC).date() + _TWO_DAYS)
    employees = _employees(session, sorted({employee_id for employee_id, _, _, _ in punches}), span)
    wanted, new = defaultdict(set), defaultdict(set)
    day = timedelta(days=1)
    zones = {}  # a zone's name -> its ZoneInfo, looked up once a batch rather than once a punch
    for employee_id, punch_id, at, zone in punches:
        known = employees.get(employee_id)
        name = known.zone if known else zone
        tz = zones.get(name)
        if tz is None:
            tz = zones[name] = ZoneInfo(name)
        local_date = at.astimezone(tz).date()
        wanted[employee_id].update((local_date - day, local_date, local_date + day))
        new[employee_id].add(punch_id)
    return rebuild_many(session, wanted, config, new_punches=new, employees=employees)
