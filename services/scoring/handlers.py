"""Scoring's use cases: projections, cross-checks with flag diffs, monthly scores, posture and public aggregates.

The only code that touches scoring's tables and publishes its events. Every change of a flag is published
(`scoring.flag.raised` / `scoring.flag.resolved`) in the transaction that changes it; the same input twice
changes nothing and publishes nothing (the consumer's inbox, and the diff of flags by key).
"""
from __future__ import annotations

import calendar
import functools
import hashlib
import json
import logging
import operator
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from typing import Collection, Iterable, Mapping, Sequence

from sqlalchemy import (Date, String, Text, and_, bindparam, case, cast, delete, extract, false, func, null, or_,
                        select, update)
from sqlalchemy.orm import Session

from runtime import jsoncodec
from runtime.access import may_read_unit, person, readable_employees, readable_units, require_read
from runtime.auth import Principal
from runtime.db import among, insert_rows, json_loads, unnested, upsert_row, upsert_rows
from runtime.errors import Conflict, Forbidden, Invalid, NotFound
from runtime.events import dumped_events, make_events
from runtime.messaging import publish
from scoring import tables
from scoring import targets as skp_targets
from scoring.domain.crosschecks import Day, Entry, Evidence, Flag, assign_entries_to_days, check_day, diff_flags
from scoring.domain.month import RatingOnFile, StandingFlags, activity_line_json, score_month
from scoring.domain.policy import ScoringPolicy
from scoring.domain.posture import WorkloadItem, staffing_posture
from scoring.domain.public import StaffResult, public_aggregates
from scoring.domain.scores import (NON_WORKING_STATUSES, BehaviourRatingRefused, EntryTally, WorkedDays,
                                   activity_score, behaviour_rating, distribution_violations)
from scoring.domain.vocabulary import ALL_PREDICATES, BERAKHLAK_VALUES, FlagKind

log = logging.getLogger(__name__)
PRODUCER = "scoring"
OPEN, CLEARED, RESOLVED = "open", "cleared", "resolved"
PLAIN_STATUSES = ("present", "late", "off")  # with nothing else on the day, see `_plain_day`


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --- projections -------------------------------------------------------------------------------------------

def _get(session: Session, table, **key):
    return session.execute(select(table).where(*(table.c[k] == v for k, v in key.items()))).first()


def apply_days(session: Session, days: Sequence[dict], policy: ScoringPolicy) -> None:
    """Keep the newest version of each attendance day of a run, then re-check each employee's dates around its
    days once (`recheck_many`), however many of the run's days are theirs.

    The employees are locked first (`_lock_employees`), then their days around the run's dates are read once:
    that read decides which days are newer than the stored ones and is, with the newer days put in, the days
    the re-check reads (the days it stores are the event's values: read back, they are the same). The days go
    in with COPY, an older version of one deleted first (every column is replaced: what an upsert did, without
    the JSON document)."""
    newest: dict[tuple[str, date], dict] = {}
    for data in days:
        key = (data["employee_id"], data["local_date"])
        kept = newest.get(key)
        if kept is None or data["version"] > kept["version"]:
            newest[key] = data
    spans: dict[str, tuple[date, date]] = {}
    for employee_id, on in newest:
        span = spans.get(employee_id)
        spans[employee_id] = (on, on) if span is None else (min(span[0], on), max(span[1], on))
    _lock_employees(session, list(spans))
    two = timedelta(days=2)  # what a re-check of the dates around reads (`recheck_many`)
    held = _in_spans(session, "days", {employee_id: (first - two, last + two)
                                       for employee_id, (first, last) in spans.items()}).all()
    stored = {(row[0], row[1]): row[3] for row in held}  # (employee, date) -> version
    fresh = [(key, data) for key, data in newest.items()
             if (version := stored.get(key)) is None or version < data["version"]]
    if not fresh:
        return
    columns = tuple(c.name for c in tables.days.columns if c.name != "updated_at")
    now = _now()
    rows, replaced, built = [], [], {}
    causes: dict[str, dict[date, dict]] = defaultdict(dict)  # employee -> date -> the day event's data (`_day_cause`)
    for key, data in fresh:
        # The event's data has every column, in the table's order (the contract's fields are the columns, and its
        # codec loads them in order): a copy of it is the row. Otherwise (another version of the contract) what it
        # has. The keys are compared in order, name by name (the same strings): a comparison as sets hashed each.
        row = dict(data) if tuple(data) == columns else {name: data.get(name) for name in columns}
        row["punch_ids"] = list(data["punch_ids"])
        row["correction"] = bool(data.get("correction"))
        row["updated_at"] = now
        rows.append(row)
        if key in stored:
            replaced.append(key)
        causes[key[0]][key[1]] = data
        built[key] = _day_of_data(data)
    _delete_days(session, replaced)
    insert_rows(session, tables.days, rows)
    # The days the re-check reads: each stored one, or the new version replacing it (its old one is not made)
    known: dict[str, list[Day]] = defaultdict(list)
    for row in held:
        day = built.pop((row[0], row[1]), None)
        known[row[0]].append(_day_of(row) if day is None else day)
    for (employee_id, _), day in built.items():
        known[employee_id].append(day)
    _recheck(session, {employee_id: (_around(dated), dated) for employee_id, dated in causes.items()}, known, policy,
             {row[0] for row in held})


def _delete_days(session: Session, keys: Sequence[tuple[str, date]]) -> None:
    """Delete the stored days of these (employee, date) keys: on PostgreSQL one statement (`_days_delete`)."""
    if not keys:
        return
    if session.bind.dialect.name == "postgresql":
        session.execute(_days_delete(), {"employee_id": [employee_id for employee_id, _ in keys],
                                         "local_date": [on for _, on in keys]})
        return
    d = tables.days
    session.execute(delete(d).where(d.c.employee_id == bindparam("of"), d.c.local_date == bindparam("on")),
                    [{"of": employee_id, "on": on} for employee_id, on in keys])


@functools.cache
def _days_delete():
    """DELETE of the days whose keys parameters `employee_id` and `local_date` list (arrays joined as a set)."""
    d = tables.days
    keys = unnested("keys", {"employee_id": String, "local_date": Date})
    return delete(d).where(d.c.employee_id == keys.c.employee_id, d.c.local_date == keys.c.local_date)


def _day_cause(data: dict) -> str:
    """Why a day changed, as a correction of a paid month names it: the rebuilt day and any absence's letter."""
    cause = f"attendance day {data['local_date']} rebuilt (version {data['version']}): {data['status']}"
    if data.get("absence_kind"):
        cause += f", {data['absence_kind']}" + (f" letter {data['absence_reference']}"
                                                if data.get("absence_reference") else "")
    return cause


def _cause_text(cause: str | dict) -> str:
    """A cause as written: a text as it is, a day event's data as `_day_cause` words it (only a resolution or a
    closed month's correction words one, so a re-check of a day that resolves nothing words nothing)."""
    return cause if type(cause) is str else _day_cause(cause)


def apply_entries(session: Session, entries: Sequence[dict], policy: ScoringPolicy) -> None:
    """Keep the newest version of each activity entry of a run (one read, one upsert), then re-check each
    employee's old and new dates of their changed entries once."""
    e = tables.entries
    known = {r.entry_id: (r.version, r.state, r.local_date) for r in session.execute(
        select(e.c.entry_id, e.c.version, e.c.state, e.c.local_date).where(
            among(session, e.c.entry_id, sorted({data["entry_id"] for data in entries}))))}
    kept: dict[str, dict] = {}
    causes: dict[str, dict[date, str]] = defaultdict(dict)
    for data in entries:  # in order, as one at a time: a version not newer than the one kept changes nothing
        current = known.get(data["entry_id"])
        if current is not None and (current[0] > data["version"] or current[:2] == (data["version"], data["state"])):
            continue
        because = f"entry {data['entry_id']} version {data['version']} ({data['state']})"
        for on in {data["local_date"]} | ({current[2]} if current is not None else set()):
            causes[data["employee_id"]].setdefault(on, because)
        known[data["entry_id"]] = (data["version"], data["state"], data["local_date"])
        kept[data["entry_id"]] = data
    if not kept:
        return
    columns = [c.name for c in e.columns if c.name != "updated_at" and not c.name.startswith("standing_")]
    now = _now()
    upsert_rows(session, e, [dict({name: data.get(name) for name in columns}, updated_at=now)
                             for data in kept.values()], ("entry_id",))
    _restand(session, list(kept))
    _recheck_around(session, causes, policy)


_VERIFICATION = ("verification_id", "verdict", "verified", "verified_state", "verified_credited_minutes",
                 "verified_creditable", "verified_at")


def apply_decisions(session: Session, decisions: Sequence[dict], policy: ScoringPolicy) -> None:
    """Keep the latest supervisor decision on each entry of a run (a new decision replaces the old one's
    verification): the decisions read and written with one statement each, then each employee re-checked once."""
    held = _decisions_held(session, decisions)
    now, changed = _now(), []
    for data in decisions:  # in order, as one at a time
        current = held.get(data["entry_id"])
        same = current is not None and current["decision_id"] == data["decision_id"]
        if (current is not None and not same and current["entry_version"] > 0
                and current["decided_at"] > data["decided_at"]):
            continue  # an older decision arriving late
        values = {
            "employee_id": data["employee_id"], "decision_id": data["decision_id"],
            "entry_version": data["entry_version"], "action": data["action"], "state": data["state"],
            "credited_minutes": data["credited_minutes"], "creditable": data["creditable"],
            "sampled": data["sampled"], "decider_id": data["decider_id"], "decided_at": data["decided_at"],
            "updated_at": now,
        }
        if current is not None and not same:
            values.update(dict.fromkeys(_VERIFICATION))
        held[data["entry_id"]] = dict(current or dict.fromkeys(_VERIFICATION), entry_id=data["entry_id"], **values)
        changed.append((data, f"decision {data['action']} on entry {data['entry_id']}"))
    _store_decisions(session, held, changed, policy)


def apply_verifications(session: Session, verifications: Sequence[dict], policy: ScoringPolicy) -> None:
    """Record the verification unit's verdicts on the decisions they verified, a run at once (as
    `apply_decisions`)."""
    held = _decisions_held(session, verifications)
    now, changed = _now(), []
    for data in verifications:  # in order, as one at a time
        current = held.get(data["entry_id"])
        if current is not None and current["decision_id"] != data["decision_id"]:
            continue  # verdict on a decision since replaced
        verification = {
            "verification_id": data["verification_id"], "verdict": data["verdict"], "verified": data["verified"],
            "verified_state": data["state"], "verified_credited_minutes": data["credited_minutes"],
            "verified_creditable": data["creditable"], "verified_at": data["verified_at"], "updated_at": now,
        }
        if current is None:
            # The verdict overtook its decision; entry_version 0 keeps it inert until the decision arrives.
            current = {"entry_id": data["entry_id"], "employee_id": data["employee_id"],
                       "decision_id": data["decision_id"], "entry_version": 0, "action": "pending",
                       "state": data["state"], "credited_minutes": data["credited_minutes"],
                       "creditable": data["creditable"], "sampled": True, "decider_id": data["verifier_id"],
                       "decided_at": data["verified_at"]}
        held[data["entry_id"]] = dict(current, **verification)
        changed.append((data, f"verification {data['verdict']} of entry {data['entry_id']}"))
    _store_decisions(session, held, changed, policy)


def _decisions_held(session: Session, events: Sequence[dict]) -> dict[str, dict]:
    """The decision rows on file for the entries of a run of decision or verification events."""
    d = tables.entry_decisions
    return {r.entry_id: dict(r._mapping) for r in session.execute(
        select(d).where(among(session, d.c.entry_id, sorted({data["entry_id"] for data in events}))))}


def _store_decisions(session: Session, held: Mapping[str, dict], changed: Sequence[tuple[dict, str]],
                     policy: ScoringPolicy) -> None:
    """Write the decision rows a run changed (one upsert), restand their entries, and re-check each employee's
    dates around each changed entry's date (the event's and the entry's own) once, each date with its cause."""
    if not changed:
        return
    ids = sorted({data["entry_id"] for data, _ in changed})
    upsert_rows(session, tables.entry_decisions, [held[entry_id] for entry_id in ids], ("entry_id",))
    _restand(session, ids)
    e = tables.entries
    dated = dict(session.execute(select(e.c.entry_id, e.c.local_date).where(among(session, e.c.entry_id, ids))).all())
    causes: dict[str, dict[date, str]] = defaultdict(dict)
    for data, because in changed:
        for on in {data["local_date"]} | ({dated[data["entry_id"]]} if data["entry_id"] in dated else set()):
            causes[data["employee_id"]].setdefault(on, because)
    _recheck_around(session, causes, policy)


def apply_employee(session: Session, data: dict) -> None:
    """Project a directory employee (no name: scoring needs none)."""
    values = {name: data.get(name) for name in ("unit_id", "position_id", "supervisor_id", "acting_supervisor_id",
                                                "status", "zone", "active")}
    upsert_row(session, tables.employees, {"employee_id": data["employee_id"]}, dict(values, updated_at=_now()))


def apply_unit(session: Session, data: dict) -> None:
    """Project a directory unit (its name)."""
    upsert_row(session, tables.units, {"unit_id": data["unit_id"]},
            {"name": data["name"], "active": data["active"], "updated_at": _now()})


def apply_position(session: Session, data: dict) -> None:
    """Project a directory position (name and job class)."""
    values = {name: data.get(name) for name in ("name", "job_class", "kind", "unit_id", "active")}
    upsert_row(session, tables.positions, {"position_id": data["position_id"]}, dict(values, updated_at=_now()))


def apply_holiday(session: Session, data: dict) -> None:
    """Project a holiday (national holiday or cuti bersama)."""
    upsert_row(session, tables.holidays, {"date": data["date"]},
            {"name": data["name"], "active": data["active"], "updated_at": _now()})


def _around(dates: Collection[date]) -> list[date]:
    """Each date with the day before and after, in order, once."""
    if len(dates) == 1:  # most re-checks: one changed date
        on, = dates
        return [on + delta for delta in _AROUND]
    return sorted({d + delta for d in dates for delta in _AROUND})


_AROUND = (timedelta(days=-1), timedelta(0), timedelta(days=1))


def _recheck_around(session: Session, causes: Mapping[str, Mapping[date, str]], policy: ScoringPolicy) -> None:
    """Re-check each employee's dates around the dates that changed, once, each date with its nearest cause (a
    date changed by several events of a run keeps the first one's: one at a time, that one was re-checked first)."""
    recheck_many(session, {employee_id: (_around(dated), dated) for employee_id, dated in causes.items()}, policy)


# --- reading projections as the rules' inputs ---------------------------------------------------------------

_DAY_FIELDS = ("employee_id", "local_date", "zone", "version", "status", "scheduled_start", "scheduled_end",
               "scheduled_minutes", "clock_in", "clock_out", "presence_minutes", "late_minutes",
               "early_leave_minutes", "overtime_minutes", "late_band", "early_band", "missing_clock_in",
               "missing_clock_out")


# What a month's score never reads of a day (its rules read the status, scheduled and overtime minutes, bands,
# missing punches and absence kind: the columns `days_pkey` covers, `tables.DAY_SCORED`).
_UNSCORED = frozenset({"zone", "version", "scheduled_start", "scheduled_end", "clock_in", "clock_out",
                       "presence_minutes", "late_minutes", "early_leave_minutes"})


def _days_query(for_score: bool = False):
    """Days with their columns in `Day`'s field order; for the month's score, what it never reads is null."""
    d = tables.days
    punches = null().label("punch_ids") if for_score else d.c.punch_ids
    reference = null().label("absence_reference") if for_score else d.c.absence_reference
    doubtful = null().label("doubtful_punches") if for_score else d.c.doubtful_punches
    return select(*(null().label(name) if for_score and name in _UNSCORED else d.c[name] for name in _DAY_FIELDS),
                  punches, d.c.absence_kind, reference, doubtful)


_DAY_VALUES = operator.itemgetter(*_DAY_FIELDS)


def _day_of_data(data: dict) -> Day:
    """An `attendance.day.built` event's data as the rules' Day: what `_day_of` gives once it is stored."""
    doubtful = data.get("doubtful_punches")
    return Day.of((*_DAY_VALUES(data), tuple(data["punch_ids"]), data.get("absence_kind"),
                   data.get("absence_reference"),
                   tuple((d["punch_id"], tuple(d["doubts"])) for d in doubtful) if doubtful else ()))


def _day_of(row) -> Day:
    """A `_days_query` row as the rules' Day (positional: 100,000s of rows per month close)."""
    *fields, punch_ids, absence_kind, absence_reference, doubtful = row
    return Day.of((*fields, tuple(punch_ids) if punch_ids else (), absence_kind, absence_reference,
                   tuple((d["punch_id"], tuple(d["doubts"])) for d in doubtful) if doubtful else ()))


def _standing_query():
    """Each entry as things stand: its state, verification, `creditable` and credited minutes.

    The decision on the entry's current version (and its verification, once there is one) wins over the entry's
    own state; the entry counts for credit only when that latest decision or verification says `creditable`
    (approvals' rule, which knows about sampled verification). Resolved by `_restand` whenever an entry, its
    decision or its verification changes, and stored on the entry.
    """
    e, d = tables.entries, tables.entry_decisions
    decided = and_(d.c.decision_id.is_not(None), d.c.entry_version >= e.c.version, e.c.state != "withdrawn")
    verified = and_(decided, d.c.verified.is_not(None))
    return select(
        case((verified, d.c.verified_state), (decided, d.c.state), else_=e.c.state).label("standing_state"),
        case((verified, d.c.verified), else_=null()).label("standing_verified"),
        case((verified, func.coalesce(d.c.verified_creditable, false())), (decided, d.c.creditable),
             else_=false()).label("standing_creditable"),
        case((verified, d.c.verified_credited_minutes), (decided, d.c.credited_minutes),
             else_=e.c.credited_minutes).label("standing_credited_minutes"),
    ).select_from(e.outerjoin(d, d.c.entry_id == e.c.entry_id))


def _restand(session: Session, entry_ids: Sequence[str]) -> None:
    """Store how entries stand after a change to them, their decisions or their verifications (one statement;
    an entry not known yet: nothing)."""
    e = tables.entries
    standing = _standing_query().add_columns(e.c.entry_id.label("standing_of")).where(
        among(session, e.c.entry_id, entry_ids)).subquery()
    session.execute(update(e).where(e.c.entry_id == standing.c.standing_of).values(
        {name: standing.c[name] for name in ("standing_state", "standing_verified", "standing_creditable",
                                             "standing_credited_minutes")}))


def _entries_query(employee_ids: Sequence[str] | None = None):
    """The entries of these employees (or, without them, of whoever the caller picks) as things stand (see
    `_standing_query`), columns in `Entry`'s field order."""
    e = tables.entries
    return select(
        e.c.entry_id, e.c.employee_id, e.c.local_date, e.c.start_at, e.c.end_at, e.c.catalogue_item_id,
        e.c.quantity, e.c.duration_minutes, e.c.standing_credited_minutes.label("credited_minutes"),
        e.c.standing_state.label("state"), e.c.standing_verified.label("verified"),
        e.c.standing_creditable.label("creditable"),
    ).where(*(() if employee_ids is None else (e.c.employee_id.in_(employee_ids),)))


def _entry_of(row) -> Entry:
    """An `_entries_query` row as the rules' Entry."""
    return Entry(*row)


def _flag_of(row) -> Flag:
    evidence = row.evidence or {}
    return Flag(FlagKind(row.kind), row.employee_id, row.local_date, row.flag_key, row.message,
                Evidence(evidence.get("day_version"), tuple(evidence.get("punch_ids") or ()),
                         tuple(evidence.get("entry_ids") or ())))


def _evidence_json(evidence: Evidence) -> dict:
    return {"day_version": evidence.day_version, "punch_ids": list(evidence.punch_ids),
            "entry_ids": list(evidence.entry_ids)}


def _same_evidence(stored: str, evidence: Evidence) -> bool:
    """Whether a flag's stored evidence (its JSON text) is `evidence` as a JSON value (as the dicts compare, key
    order and spacing aside). The platform writes a flag's evidence with its codec (`runtime.db`: COPY, upserts
    and updates alike), so the same text is the same evidence, decided without parsing; any other text (written
    elsewhere, or before) is parsed and compared as a value."""
    wanted = _evidence_json(evidence)
    return stored == jsoncodec.dumps(wanted) or json_loads(stored) == wanted


# --- cross-checks -------------------------------------------------------------------------------------------

def _lock_employees(session: Session, employee_ids: Sequence[str]) -> None:
    """Serialise re-checks of each employee across consumer processes (PostgreSQL advisory locks, taken in one
    statement in a fixed order, so two processes never wait on each other crosswise)."""
    if session.bind.dialect.name == "postgresql":
        session.execute(_locks(), {"key": sorted(f"scoring:{employee_id}" for employee_id in employee_ids)})


@functools.cache
def _locks():
    """The advisory locks of the keys parameter `key` lists, taken in their order."""
    keys = unnested("keys", {"key": Text})
    return select(func.pg_advisory_xact_lock(func.hashtext(keys.c.key))).order_by(keys.c.key)


def _in_spans(session: Session, read: str, spans: Mapping[str, tuple[date, date]]):
    """The rows of `read` ("days", "entries" or "flags": `_SPAN_READS`) whose employee has a span and whose
    `local_date` lies in it.

    On PostgreSQL the spans travel as three array parameters joined as a set (`unnest`), so each employee's rows
    come from the (employee_id, local_date) index whatever the table's statistics say: the statement's text is
    the same every poll, and the generic plan psycopg's prepared statement gets for an IN list of hundreds of
    parameters scanned every flag of the date range instead (0.2 s a poll at 9,000 flags). The statement is
    built once per process (`_spans_statement`), so a poll does not build and key it again. Elsewhere: an IN
    list and the overall date range (the caller keeps what is its own)."""
    if session.bind.dialect.name != "postgresql":
        query, table = _SPAN_READS[read]()
        return session.execute(query.where(table.c.employee_id.in_(list(spans)), table.c.local_date.between(
            min(first for first, _ in spans.values()), max(last for _, last in spans.values()))))
    return session.execute(_spans_statement(read), {
        "employee_id": list(spans), "first": [first for first, _ in spans.values()],
        "last": [last for _, last in spans.values()]})


@functools.cache
def _spans_statement(read: str):
    """`_SPAN_READS[read]` joined to the spans' arrays (`_in_spans`), built once."""
    query, table = _SPAN_READS[read]()
    spans = unnested("spans", {"employee_id": String, "first": Date, "last": Date})
    return query.join(spans, and_(table.c.employee_id == spans.c.employee_id,
                                  table.c.local_date.between(spans.c.first, spans.c.last)))


_SPAN_READS = {  # what a re-check reads by span: the query and the table whose employee and date it keeps to
    "days": lambda: (_days_query(), tables.days),
    "entries": lambda: (_entries_query(), tables.entries),
    "flags": lambda: (_flags_query(), tables.flags),
}


def _flags_query():
    """What a re-check reads of the stored flags, positionally: key, employee, date, state, and only of those not
    resolved the kind, message and evidence, the evidence as the text stored (a resolved flag's key is all a
    re-check uses of it: raised again, it takes over the row). The evidence is compared as text first and parsed
    only when it differs (`_same_evidence`) or the re-check resolves its flag (the event's data)."""
    f = tables.flags
    standing = f.c.state != RESOLVED
    return select(f.c.flag_key, f.c.employee_id, f.c.local_date, f.c.state,
                  *(case((standing, column), else_=null()) for column in (
                      f.c.kind, f.c.message, cast(f.c.evidence, Text))))


def _cause(because: str | Mapping[date, str | dict], on: date) -> str:
    """Why `on` is re-checked: the one cause, or that of the nearest changed date (the date itself first)."""
    if isinstance(because, str):
        return because
    return _cause_text(because[min(because, key=lambda changed: (abs((changed - on).days), changed))])


def recheck_many(session: Session, wanted: Mapping[str, tuple[Sequence[date], str | Mapping[date, str]]],
                 policy: ScoringPolicy) -> None:
    """Re-run the cross-checks of several employees, each on its dates (in order, each once) with its cause (one,
    or one per changed date); store and publish only the flags that changed. Days, entries and flags are read for
    all of them with one statement each."""
    wanted = {employee_id: (dates, because) for employee_id, (dates, because) in wanted.items() if dates}
    if not wanted:
        return
    _lock_employees(session, list(wanted))
    one = timedelta(days=1)
    days = _read_days(session, {employee_id: (min(dates) - one, max(dates) + one)
                                for employee_id, (dates, _) in wanted.items()})
    _recheck(session, wanted, days, policy, days.keys())


def _read_days(session: Session, spans: Mapping[str, tuple[date, date]]) -> dict[str, list[Day]]:
    """The stored days of each employee in its span, as the rules' Days."""
    days = defaultdict(list)
    for r in _in_spans(session, "days", spans).all():
        days[r[0]].append(_day_of(r))
    return days


def _recheck(session: Session, wanted: Mapping[str, tuple[Sequence[date], str | Mapping[date, str | dict]]],
             days: Mapping[str, list[Day]], policy: ScoringPolicy, stored_days: Collection[str]) -> None:
    """`recheck_many` with the employees locked and their `days` (at least the dates around the wanted ones)
    in hand; `stored_days`: the employees among them with a day stored before this re-check in that span (the
    keys of `days` when it holds stored days only). A cause per changed date may be a day event's data
    (`_cause_text`).

    An employee's flags are read only when it has a stored day or an entry in the span read: every flag, in
    whatever state, was raised by a check of its date that saw a stored day on it or an entry grouped to it (an
    entry grouped to another date lies in that date's clocked window: a stored day), and scoring never deletes
    a day or an entry (a day is replaced, an entry withdrawn), so an employee with neither there has no flag
    there. Most employees of a burst of day events have neither (a first day, or days further apart), and
    their flags' read was an index probe each for nothing."""
    wanted = {employee_id: value for employee_id, value in sorted(wanted.items()) if value[0]}
    if not wanted:
        return
    one = timedelta(days=1)
    around, checked = {}, {}  # employee -> the span of entries read, the span of its flags read
    for employee_id, (dates, _) in wanted.items():
        first, last = checked[employee_id] = dates[0], dates[-1]
        around[employee_id] = (first - one, last + one)
    entries, stored, resolved_keys = defaultdict(list), {}, set()
    for r in _in_spans(session, "entries", around).all():
        entries[r[1]].append(_entry_of(r))
    flagged: dict[str, set[date]] = {}  # employee -> the dates with flags not resolved
    may_have_flags = {employee_id: span for employee_id, span in checked.items()
                      if employee_id in stored_days or employee_id in entries}
    for key, employee_id, on, state, kind, message, evidence in (
            _in_spans(session, "flags", may_have_flags).all() if may_have_flags else ()):
        if state == RESOLVED:  # only its key matters: a flag raised again takes over its row
            resolved_keys.add(key)
        else:
            stored.setdefault((employee_id, on), {})[key] = (state, kind, message, evidence)
            flagged.setdefault(employee_id, set()).add(on)
    now = _now()
    raised_rows, updates, changes = [], defaultdict(list), []  # what to store; (event type, row, resolution) to publish
    for employee_id, (dates, because) in wanted.items():
        first, last = around[employee_id]
        mine = [day for day in days.get(employee_id, ()) if first <= day.local_date <= last]
        theirs = entries.get(employee_id)
        grouped = assign_entries_to_days(mine, [entry for entry in theirs if first <= entry.local_date <= last]
                                         ) if theirs else {}
        by_date = {day.local_date: day for day in mine}
        with_flags = flagged.get(employee_id, ())
        for on in dates:
            day = by_date.get(on)
            if day is None and on not in grouped and on not in with_flags:
                continue  # no day, no entry, no flag: nothing to check (most neighbours of a rebuilt day)
            current = check_day(day, grouped.get(on, []), (), policy)
            rows = stored.get((employee_id, on)) if on in with_flags else None
            if rows is None:
                # Nothing stored: every flag is new (`check_day` gives them sorted by key, each key once).
                for flag in current:
                    row = _raised(flag, now)
                    raised_rows.append(row)
                    changes.append(("scoring.flag.raised", row, None))
                continue
            raised, resolved = diff_flags(rows, current)
            for flag in raised:
                row = _raised(flag, now)
                raised_rows.append(row)
                changes.append(("scoring.flag.raised", row, None))
            for key in resolved:
                state, kind, message, evidence = rows[key]
                if state == CLEARED:
                    # Already resolved by a supervisor's decision (and published then); the cause is now gone too.
                    updates[("state",)].append({"key": key, "state": RESOLVED})
                    continue
                resolution = f"cause removed by later data ({_cause(because, on)})"
                updates[("state", "resolved_at", "resolution")].append(
                    {"key": key, "state": RESOLVED, "resolved_at": now, "resolution": resolution})
                changes.append(("scoring.flag.resolved", {
                    "flag_key": key, "kind": kind, "employee_id": employee_id, "local_date": on, "message": message,
                    "evidence": json_loads(evidence)}, resolution))
            for flag in current:  # a kept flag takes the newest wording and evidence, without a new event
                kept = rows.get(flag.key)
                if kept is not None and (kept[2] != flag.message or not _same_evidence(kept[3], flag.evidence)):
                    updates[("message", "evidence")].append(
                        {"key": flag.key, "message": flag.message, "evidence": _evidence_json(flag.evidence)})
    _store_flags(session, raised_rows, resolved_keys, updates)
    publish(session, *_flag_events(changes))
    # A re-check in a closed month re-scores it (a correction); the months are read first for the whole span of
    # the run (most fall in open months: then no employee's months are gathered).
    if _closed_months(session, _months_between(min(first for first, _ in checked.values()),
                                               max(last for _, last in checked.values()))):
        _rescore_many(session, {employee_id: ({(on.year, on.month) for on in dates}, because)
                                for employee_id, (dates, because) in wanted.items()}, policy)


def _months_between(first: date, last: date) -> list[tuple[int, int]]:
    """Every (year, month) from `first`'s to `last`'s."""
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _closed_months(session: Session, periods: Iterable[tuple[int, int]]) -> set[tuple[str, int, int]]:
    """The (unit, year, month) closures of these periods (a small table)."""
    c = tables.month_closures.c
    return {(r.unit_id, r.year, r.month) for r in session.execute(select(c.unit_id, c.year, c.month).where(
        or_(*(and_(c.year == y, c.month == m) for y, m in sorted(periods)))))}


def _store_flags(session: Session, raised: list[dict], resolved_keys: set[str],
                 updates: Mapping[tuple[str, ...], list[dict]]) -> None:
    """Store a re-check's flag changes with a statement per kind: the raised flags' rows (a key never raised
    before with COPY, one raised again with an upsert taking over its resolved row), then each set of columns
    updated, by key, for its rows (only those columns: a supervisor may be clearing the flag meanwhile)."""
    f = tables.flags
    insert_rows(session, f, [row for row in raised if row["flag_key"] not in resolved_keys])
    upsert_rows(session, f, [row for row in raised if row["flag_key"] in resolved_keys], ("flag_key",))
    for columns, rows in updates.items():
        if session.bind.dialect.name == "postgresql":  # one statement, however many rows (`_flags_update`)
            session.execute(_flags_update(columns), {"key": [row["key"] for row in rows], **{
                name: [row[name] for row in rows] for name in columns}})
            continue
        session.execute(update(f).where(f.c.flag_key == bindparam("flag")).values(
            {name: bindparam(f"new_{name}") for name in columns}),
            [{"flag": row["key"], **{f"new_{name}": row[name] for name in columns}} for row in rows])


@functools.cache
def _flags_update(columns: tuple[str, ...]):
    """UPDATE of these columns of the flags named by parameter `key`, each to its value in the parameter of the
    column's name (arrays joined as a set: one statement for a poll's resolutions, where an executemany ran one
    UPDATE per flag)."""
    f = tables.flags
    given = unnested("given", {"key": String, **{name: f.c[name].type for name in columns}})
    return update(f).where(f.c.flag_key == given.c.key).values({name: given.c[name] for name in columns})


def _flag_data(row: Mapping, resolution: str | None) -> dict:
    """A flag row's event data in its wire form, as the flag schema dumps what it loads: every field (the evidence's
    defaulted ones included), the date as ISO text; the texts and lists are the row's own. Evidence with exactly
    the three fields (a raised flag's, `_evidence_json`, and what the platform stored of it) is its own wire form."""
    evidence = row["evidence"]
    if evidence.keys() != _EVIDENCE_FIELDS:
        evidence = {"day_version": evidence.get("day_version"), "punch_ids": evidence.get("punch_ids", []),
                    "entry_ids": evidence.get("entry_ids", [])}
    return {"flag_key": row["flag_key"], "kind": row["kind"], "employee_id": row["employee_id"],
            "local_date": row["local_date"].isoformat(), "message": row["message"], "evidence": evidence,
            "resolution": resolution}


_EVIDENCE_FIELDS = frozenset({"day_version", "punch_ids", "entry_ids"})


def _flag_events(changes: Sequence[tuple[str, Mapping, str | None]]) -> list:
    """The events of flag changes, in their order, made with one `dumped_events` per type (the data is built in its
    wire form, `_flag_data`: loading it only to dump it again gave the same text at twice the cost)."""
    types = {kind for kind, _, _ in changes}
    if len(types) == 1:  # a run of days that only raise (or only resolve): one batch, in order
        event_type, = types
        return dumped_events(event_type, [(row["employee_id"], _flag_data(row, resolution))
                                          for _, row, resolution in changes], PRODUCER)
    made = {event_type: iter(dumped_events(event_type, [(row["employee_id"], _flag_data(row, resolution))
                                                        for kind, row, resolution in changes if kind == event_type],
                                           PRODUCER))
            for event_type in types}
    return [next(made[event_type]) for event_type, _, _ in changes]


def _raised(flag: Flag, now: datetime) -> dict:
    """A newly raised flag's row (upserted over a resolved one of the same key)."""
    return {"flag_key": flag.key, "kind": flag.kind.value, "employee_id": flag.employee_id,
            "local_date": flag.local_date, "message": flag.message, "evidence": _evidence_json(flag.evidence),
            "state": OPEN, "raised_at": now, "resolved_at": None, "resolution": None, "cleared_by": None}


def clear_flag(session: Session, principal: Principal, flag_key: str, reason: str, policy: ScoringPolicy) -> dict:
    """A supervisor resolves an open flag of their report by a decision with a reason; it then holds nothing back."""
    f = tables.flags
    row = session.execute(select(f).where(f.c.flag_key == flag_key).with_for_update()).first()
    if row is None:
        raise NotFound(f"no flag {flag_key}")
    if approver_of(session, row.employee_id) != principal.subject:
        raise Forbidden("only the employee's approver (supervisor or acting supervisor) may clear it")
    if row.state != OPEN:
        raise Conflict(f"the flag is already {row.state}: {row.resolution}")
    resolution = f"cleared by {principal.subject}: {reason}"
    session.execute(update(f).where(f.c.flag_key == flag_key)
                    .values(state=CLEARED, resolved_at=_now(), resolution=resolution, cleared_by=principal.subject))
    publish(session, *_flag_events([("scoring.flag.resolved", row._mapping, resolution)]))
    _rescore_if_closed(session, row.employee_id, {(row.local_date.year, row.local_date.month)}, policy,
                       f"{row.kind} flag of {row.local_date} {resolution}")
    return _flag_json(session.execute(select(f).where(f.c.flag_key == flag_key)).first())


def _flag_json(row) -> dict:
    return {"flag_key": row.flag_key, "kind": row.kind, "employee_id": row.employee_id,
            "local_date": row.local_date.isoformat(), "message": row.message, "evidence": row.evidence,
            "state": row.state, "raised_at": row.raised_at.isoformat(),
            "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None, "resolution": row.resolution,
            "cleared_by": row.cleared_by}


# --- who may see what --------------------------------------------------------------------------------------

def approver_of(session: Session, employee_id: str) -> str | None:
    """The employee's approver: the acting supervisor (Plt) when there is one, else the supervisor."""
    who = person(session, employee_id)
    return who.approver_id if who is not None else None


# --- reads --------------------------------------------------------------------------------------------------

def list_flags(session: Session, principal: Principal, employee_id: str | None, start: date | None,
               end: date | None, state: str | None, limit: int) -> list[dict]:
    """Flags the caller may see, filtered by employee, date range and state, by date then key."""
    f = tables.flags
    query = select(f).order_by(f.c.local_date, f.c.flag_key).limit(limit)
    if employee_id:
        require_read(session, principal, employee_id)
        query = query.where(f.c.employee_id == employee_id)
    else:
        visible = readable_employees(session, principal, f.c.employee_id)
        if visible is not None:
            query = query.where(visible)
    if start:
        query = query.where(f.c.local_date >= start)
    if end:
        query = query.where(f.c.local_date <= end)
    if state:
        query = query.where(f.c.state == state)
    return [_flag_json(row) for row in session.execute(query)]


def get_month(session: Session, principal: Principal, employee_id: str, year: int, month: int,
              policy: ScoringPolicy) -> dict:
    """One employee's scored month with its breakdown, and how each of the month's entries was treated."""
    require_read(session, principal, employee_id)
    row = _get(session, tables.month_scores, employee_id=employee_id, year=year, month=month)
    if row is None:
        raise NotFound(f"{employee_id} has no scored month {year}-{month:02d} (not closed yet?)")
    return dict(_month_json(row), entries=_entry_lines(session, employee_id, year, month, policy))


def _entry_lines(session: Session, employee_id: str, year: int, month: int, policy: ScoringPolicy) -> list[dict]:
    """Every entry of the month one by one, judged by the activity rule as things stand. The close tallies the
    entries no flag names; a change to an entry, a decision or a flag re-scores a closed month, so these lines add
    up to the stored score."""
    first, last = _month_bounds(year, month)
    e, f = tables.entries, tables.flags
    entries = [_entry_of(r) for r in session.execute(
        _entries_query([employee_id]).where(e.c.local_date.between(first, last)))]
    flag_rows = session.execute(select(f).where(f.c.employee_id == employee_id, f.c.local_date.between(first, last),
                                                f.c.state.in_((OPEN, CLEARED)))).all()
    standing, cleared = _flag_inputs(flag_rows)
    return [activity_line_json(line) for line in activity_score(entries, [], standing, cleared, policy).lines]


def _month_json(row) -> dict:
    return {"employee_id": row.employee_id, "unit_id": row.unit_id, "year": row.year, "month": row.month,
            "version": row.version, "activity_score": str(row.activity_score),
            "discipline_score": str(row.discipline_score), "behaviour_level": row.behaviour_level,
            "behaviour_score": None if row.behaviour_score is None else str(row.behaviour_score),
            "target_score": None if row.target_score is None else str(row.target_score),
            "overtime_hours": None if row.overtime_hours is None else str(row.overtime_hours),
            "predicate": row.predicate, "effective_minutes": row.effective_minutes,
            "credited_minutes": row.credited_minutes, "days": row.days, "breakdown": row.breakdown,
            "scored_at": row.scored_at.isoformat()}


# --- behaviour and unit ratings -----------------------------------------------------------------------------

def rate_behaviour(session: Session, principal: Principal, employee_id: str, year: int, month: int, values: dict,
                   has_innovation: bool, policy: ScoringPolicy) -> dict:
    """The approver rates an employee's month on the seven BerAKHLAK values (re-scoring a closed month)."""
    if approver_of(session, employee_id) != principal.subject:
        raise Forbidden("only the employee's approver (supervisor or acting supervisor) rates them")
    try:
        rating = behaviour_rating(values, policy)
    except BehaviourRatingRefused as exc:
        raise Invalid("the behaviour rating has invalid values",
                      [{"field": name, "message": problem} for name, problem in sorted(exc.errors.items())]) from None
    key = {"employee_id": employee_id, "year": year, "month": month}
    record = {"ratings": dict(values), "has_innovation": has_innovation, "level": rating.level,
              "average": rating.average, "rated_by": principal.subject, "rated_at": _now()}
    upsert_row(session, tables.behaviour_ratings, key, record)
    _rescore_if_closed(session, employee_id, {(year, month)}, policy, f"behaviour rated by {principal.subject}")
    return {**key, "ratings": dict(values), "has_innovation": has_innovation, "level": rating.level,
            "average": str(rating.average), "rated_by": principal.subject}


def get_behaviour(session: Session, principal: Principal, employee_id: str, year: int, month: int,
                  policy: ScoringPolicy) -> dict:
    """The saved behaviour rating of a month (None before one is saved) and the scale it is given on; the
    employee, their approver and whoever may read the employee see it."""
    require_read(session, principal, employee_id)
    scale = policy.behaviour
    row = _get(session, tables.behaviour_ratings, employee_id=employee_id, year=year, month=month)
    rating = None if row is None else {
        "ratings": dict(row.ratings), "has_innovation": row.has_innovation, "level": row.level,
        "average": str(row.average), "rated_by": row.rated_by, "rated_at": row.rated_at.isoformat()}
    return {"employee_id": employee_id, "year": year, "month": month, "rating": rating,
            "scale": {"values": list(BERAKHLAK_VALUES), "min": scale.scale_min, "max": scale.scale_max,
                      "meets_from": str(scale.meets_from), "above_from": str(scale.above_from)}}


def set_unit_rating(session: Session, principal: Principal, unit_id: str, year: int, rating: str) -> dict:
    """Record a unit's own predicate for a year (it bounds its staff's predicate distribution)."""
    if rating not in ALL_PREDICATES:
        raise Invalid("unknown predicate", field="rating", message=f"one of {', '.join(ALL_PREDICATES)}")
    key = {"unit_id": unit_id, "year": year}
    upsert_row(session, tables.unit_ratings, key, {"rating": rating, "set_by": principal.subject, "set_at": _now()})
    return {**key, "rating": rating, "set_by": principal.subject}


def unit_distribution(session: Session, principal: Principal, unit_id: str, year: int, month: int,
                      policy: ScoringPolicy) -> dict:
    """The unit's predicate distribution for a month checked against its own rating, with any violations."""
    if not may_read_unit(session, principal, unit_id):
        raise Forbidden("admin/ops, a verifier for their assigned units, or a supervisor for their own unit")
    m = tables.month_scores
    rows = session.execute(select(m.c.predicate, m.c.rated).where(m.c.unit_id == unit_id, m.c.year == year,
                                                                 m.c.month == month)).all()
    rating = _get(session, tables.unit_ratings, unit_id=unit_id, year=year)
    return _distribution(unit_id, year, month, [r.predicate for r in rows if r.rated], len(rows),
                         rating.rating if rating else None, policy)


def _distribution(unit_id: str, year: int, month: int, predicates: list[str], staff: int, unit_rating: str | None,
                  policy: ScoringPolicy) -> dict:
    counts = {name: predicates.count(name) for name in sorted(set(predicates))}
    violations = distribution_violations(unit_rating, predicates, policy) if unit_rating else []
    return {"unit_id": unit_id, "year": year, "month": month, "unit_rating": unit_rating, "staff_scored": staff,
            "rated": len(predicates), "not_rated": staff - len(predicates), "predicates": counts,
            "violations": [{"predicates": list(v.predicates), "message": v.message} for v in violations],
            "checked": unit_rating is not None,
            # the expected shape: the policy's limits for the unit's own rating (none until it is rated)
            "limits": [{"predicates": list(r.predicates), "min_count": r.min_count,
                        "min_share": None if r.min_share is None else str(r.min_share),
                        "max_share": None if r.max_share is None else str(r.max_share)}
                       for r in policy.distribution if unit_rating and r.unit_rating == unit_rating]}


# --- monthly scores ----------------------------------------------------------------------------------------

def close_month(session: Session, data: dict, policy: ScoringPolicy) -> int:
    """Score every employee of a unit for a closed month; publish one `scoring.month.scored` per change."""
    unit_id, year, month = data["unit_id"], data["year"], data["month"]
    members = select(tables.employees.c.employee_id).where(tables.employees.c.unit_id == unit_id,
                                                           tables.employees.c.active.is_(True))
    scored, published = _score(session, members, year, month, policy)
    rating = _get(session, tables.unit_ratings, unit_id=unit_id, year=year)
    m = tables.month_scores
    predicates = [r.predicate for r in session.execute(select(m.c.predicate).where(
        m.c.unit_id == unit_id, m.c.year == year, m.c.month == month, m.c.rated.is_(True)))]
    report = _distribution(unit_id, year, month, predicates, len(scored), rating.rating if rating else None, policy)
    for violation in report["violations"]:
        log.warning("predicate distribution violation", extra={"unit_id": unit_id, "period": f"{year}-{month:02d}",
                                                                "violation": violation["message"]})
    key = {"unit_id": unit_id, "year": year, "month": month}
    values = {"closed_by": data["closed_by"], "closed_at": data["closed_at"], "scored_at": _now(),
              "employees": len(scored), "violations": report["violations"]}
    upsert_row(session, tables.month_closures, key, values)
    return published


def _rescore_if_closed(session: Session, employee_id: str, periods: set[tuple[int, int]],
                       policy: ScoringPolicy, because: str | None = None) -> None:
    """A change to an already closed month (a correction) re-scores that employee's month; `because` says why,
    and travels with the new version so that a paid month's correction names its cause."""
    _rescore_many(session, {employee_id: (periods, because)}, policy)


def _rescore_many(session: Session,
                  changed: Mapping[str, tuple[set[tuple[int, int]], str | Mapping[date, str] | None]],
                  policy: ScoringPolicy) -> None:
    """`_rescore_if_closed` for several employees, with one read of the closed months (and of their units when
    any is closed); a cause given per changed date names them all, in date order, each once (written only for
    an employee whose month is closed)."""
    changed = {employee_id: value for employee_id, value in changed.items() if value[0]}
    if not changed:
        return
    em = tables.employees.c
    # The months closed first (a small table): most re-checks fall in open months, and then no employee's unit
    # needs reading.
    closed = _closed_months(session, {period for value in changed.values() for period in value[0]})
    if not closed:
        return
    units = {r.employee_id: r.unit_id for r in session.execute(
        select(em.employee_id, em.unit_id).where(among(session, em.employee_id, sorted(changed))))}
    for employee_id, (months, because) in changed.items():
        due = sorted(period for period in months if (units.get(employee_id), *period) in closed)
        if not due:  # the usual case (an open month): no statement to build
            continue
        if because is not None and not isinstance(because, str):
            because = "; ".join(dict.fromkeys(_cause_text(because[on]) for on in sorted(because)))
        members = select(em.employee_id).where(em.employee_id == employee_id)
        for year, month in due:
            _score(session, members, year, month, policy, because)


def _month_bounds(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _plain_day(d):
    """Days the rules can only count as time (worked, or a rest day): no band, missing punch, absence or overtime.
    They never deduct and are no day fact for payroll, so a month close tallies them in SQL."""
    return and_(d.c.status.in_(PLAIN_STATUSES), d.c.late_band.is_(None), d.c.early_band.is_(None),
                d.c.missing_clock_in.is_(False), d.c.missing_clock_out.is_(False), d.c.absence_kind.is_(None),
                d.c.overtime_minutes == 0)


def _flagged_entry_ids(flag_rows) -> set[str]:
    return {i for row in flag_rows for i in (row.evidence or {}).get("entry_ids", [])}


def _score(session: Session, members, year: int, month: int, policy: ScoringPolicy,
           because: str | None = None) -> tuple[list[str], int]:
    """Score the month of every employee selected by `members`, set-based: plain days and unflagged entries are
    tallied by PostgreSQL (grouped by what the rules read), only the other days and the flagged entries come one
    by one; then bulk writes."""
    first, last = _month_bounds(year, month)
    emp, d, f = tables.employees, tables.days, tables.flags
    b, m, h = tables.behaviour_ratings, tables.month_scores, tables.holidays
    employees = {r.employee_id: r.unit_id for r in session.execute(
        select(emp.c.employee_id, emp.c.unit_id).where(emp.c.employee_id.in_(members)))}
    if not employees:
        return [], 0
    members = sorted(employees)  # a list, not a subquery: PostgreSQL then plans index reads of these employees
    # `among`: one array parameter, so psycopg parses each statement once, not a thousand placeholders per unit
    in_month = among(session, d.c.employee_id, members), d.c.local_date.between(first, last)
    days, worked = defaultdict(list), {}
    for row in session.execute(_days_query(for_score=True).where(*in_month, ~_plain_day(d))).all():
        days[row[0]].append(_day_of(row))
    minutes = func.sum(case((d.c.status.in_(NON_WORKING_STATUSES), 0), else_=d.c.scheduled_minutes))
    for employee_id, count, total in session.execute(
            select(d.c.employee_id, func.count(), minutes).where(*in_month, _plain_day(d)).group_by(d.c.employee_id)):
        worked[employee_id] = WorkedDays(count, int(total or 0))
    flags = defaultdict(list)
    for row in session.execute(select(f).where(among(session, f.c.employee_id, members),
                                               f.c.local_date.between(first, last), f.c.state.in_((OPEN, CLEARED)))):
        flags[row.employee_id].append(row)
    tallies, entries = _entry_tallies(session, members, first, last,
                                      set().union(*map(_flagged_entry_ids, flags.values())))
    ratings = {r.employee_id: r for r in session.execute(
        select(b).where(among(session, b.c.employee_id, members), b.c.year == year, b.c.month == month))}
    holidays = {r.date: r.name for r in session.execute(
        select(h.c.date, h.c.name).where(h.c.date.between(first, last), h.c.active.is_(True)))}
    achievements = skp_targets.month_achievements(session, members, year, month, policy)
    now = _now()
    columns = {c.name for c in m.columns}
    records = {}
    for employee_id in sorted(employees):
        result = score_month(employee_id, employees[employee_id], year, month, days[employee_id],
                             worked.get(employee_id), entries[employee_id], tallies[employee_id],
                             _standing_flags(flags[employee_id]), _rating_on_file(ratings.get(employee_id)),
                             holidays, policy)
        result = skp_targets.with_target(result, achievements[employee_id])
        records[employee_id] = dict(result, version=1, content_hash=_hash(result), scored_at=now)
    # One statement writes the scores that changed (a new version where the content hash differs) and says which:
    # no look-up of the previous versions, whose IN list PostgreSQL planned as a scan of the whole table while
    # month_scores grew during a close.
    written = dict(upsert_rows(session, m, [{k: v for k, v in r.items() if k in columns} for r in records.values()],
                               ("employee_id", "year", "month"),
                               only_if=lambda table, new: table.c.content_hash != new.content_hash,
                               overrides={"version": lambda table, _new: table.c.version + 1},
                               returning=("employee_id", "version")))
    # One batch: the contract's check and the wire form are made together (`make_events`), not event by event.
    events = make_events("scoring.month.scored",
                         [(employee_id, dict(_event_data(dict(records[employee_id], version=version)), cause=because))
                          for employee_id, version in sorted(written.items())], PRODUCER) if written else []
    publish(session, *events)
    return sorted(employees), len(events)


def _entry_tallies(session: Session, members: list[str], first: date, last: date, flagged: set[str]):
    """The month's entries of `members`: unflagged ones tallied by (state, verification, creditable) in SQL, the
    ones a flag names one by one (the rule needs their ids), each by employee."""
    e = tables.entries
    rows = _entries_query(members).where(e.c.local_date.between(first, last)).subquery()
    group = (rows.c.employee_id, rows.c.state, rows.c.verified, rows.c.creditable)
    counts = {tuple(r[:4]): [r[4], int(r[5] or 0)] for r in session.execute(
        select(*group, func.count(), func.sum(rows.c.credited_minutes)).group_by(*group))}
    entries = defaultdict(list)
    ids = sorted(flagged)
    for at in range(0, len(ids), 5000):
        for row in session.execute(_entries_query(members).where(
                e.c.entry_id.in_(ids[at:at + 5000]), e.c.local_date.between(first, last))).all():
            entry = _entry_of(row)
            entries[entry.employee_id].append(entry)
            tally = counts[(entry.employee_id, entry.state, entry.verified, entry.creditable)]
            tally[0] -= 1  # one by one now, so out of its tally
            tally[1] -= entry.credited_minutes
    tallies = defaultdict(list)
    for (employee_id, state, verified, creditable), (count, credited) in sorted(
            counts.items(), key=lambda item: tuple(str(part) for part in item[0])):
        if count:
            tallies[employee_id].append(EntryTally(state, verified, bool(creditable), count, credited))
    return tallies, entries


def _standing_flags(flag_rows) -> StandingFlags:
    """The month's stored flags as the scoring rules read them."""
    standing, cleared = _flag_inputs(flag_rows)
    return StandingFlags(standing, cleared, {row.local_date for row in flag_rows if row.state == OPEN and
                                             row.kind == FlagKind.OVERTIME_WITHOUT_ACTIVITY.value})


def _rating_on_file(row) -> RatingOnFile | None:
    if row is None:
        return None
    return RatingOnFile(row.level, row.average, row.has_innovation, row.ratings, row.rated_by)


def _flag_inputs(flag_rows) -> tuple[list[Flag], set[str]]:
    """Standing flags as the rules' Flags, and the ids of entries whose flags were all cleared by a decision."""
    standing = [_flag_of(row) for row in flag_rows]
    open_entry_ids = _flagged_entry_ids(row for row in flag_rows if row.state == OPEN)
    return standing, _flagged_entry_ids(row for row in flag_rows if row.state == CLEARED) - open_entry_ids


def _hash(result: dict) -> str:
    # check_circular=False: the same bytes (a result is a tree), without the encoder's cycle bookkeeping.
    return hashlib.sha256(json.dumps(result, sort_keys=True, default=str, check_circular=False).encode()).hexdigest()


def _event_data(record: dict) -> dict:
    return {
        "employee_id": record["employee_id"], "unit_id": record["unit_id"], "year": record["year"],
        "month": record["month"], "version": record["version"], "activity_score": record["activity_score"],
        "discipline_score": record["discipline_score"], "behaviour_level": record["behaviour_level"],
        "behaviour_score": record["behaviour_score"], "target_score": record["target_score"], "overtime_hours": record["overtime_hours"],
        "predicate": record["predicate"], "effective_minutes": record["effective_minutes"],
        "credited_minutes": record["credited_minutes"], "days": record["days"], "breakdown": record["breakdown"],
    }


# --- staffing posture and public aggregates ------------------------------------------------------------------

def posture(session: Session, principal: Principal, year: int, months: list[int], policy: ScoringPolicy) -> dict:
    """Workload (norm × volume of approved activities) against staff present, per unit and position (ABK)."""
    unit_filter = readable_units(session, principal)  # None: every unit
    if unit_filter is not None and not unit_filter:
        raise Forbidden("admin/ops, a verifier for their assigned units, or a supervisor for their own unit")
    e, emp = tables.entries, tables.employees
    workload = case((e.c.norm_minutes.is_not(None), e.c.norm_minutes * e.c.quantity),
                    else_=e.c.standing_credited_minutes)
    unit_col = func.coalesce(e.c.unit_id, emp.c.unit_id)
    position_col = func.coalesce(e.c.position_id, emp.c.position_id)
    query = (select(unit_col.label("unit_id"), position_col.label("position_id"), func.sum(workload).label("minutes"))
             .select_from(e.outerjoin(emp, emp.c.employee_id == e.c.employee_id))
             .where(e.c.standing_state == "approved", extract("year", e.c.local_date) == year,
                    extract("month", e.c.local_date).in_(months))
             .group_by(e.c.unit_id, emp.c.unit_id, e.c.position_id, emp.c.position_id))
    if unit_filter is not None:
        query = query.where(unit_col.in_(sorted(unit_filter)))
    items = [WorkloadItem(r.unit_id, r.position_id or "", int(r.minutes or 0), 1) for r in session.execute(query)
             if r.unit_id]
    staff_query = (select(emp.c.unit_id, emp.c.position_id, func.count().label("n"))
                   .where(emp.c.active.is_(True)).group_by(emp.c.unit_id, emp.c.position_id))
    if unit_filter is not None:
        staff_query = staff_query.where(emp.c.unit_id.in_(sorted(unit_filter)))
    staff = defaultdict(int)
    for r in session.execute(staff_query):
        staff[(r.unit_id, r.position_id or "")] += r.n
    lines = staffing_posture(items, staff, len(months), policy)
    unit_names = dict(session.execute(select(tables.units.c.unit_id, tables.units.c.name)).all())
    position_names = dict(session.execute(select(tables.positions.c.position_id, tables.positions.c.name)).all())
    return {"year": year, "months": months, "lines": [{
        "unit_id": line.unit_id, "unit_name": unit_names.get(line.unit_id),
        "position_id": line.position_id or None,
        "position_name": position_names.get(line.position_id) if line.position_id else None,
        "workload_minutes": line.workload_minutes,
        "effective_minutes_per_person": str(line.effective_minutes_per_person),
        "staff_present": line.staff_present, "staff_needed": str(line.staff_needed),
        "efficiency": None if line.efficiency is None else str(line.efficiency), "band": line.band,
    } for line in lines]}


def public_units(session: Session, year: int, month: int, policy: ScoringPolicy) -> dict:
    """Per unit: staff, predicate distribution and average scores, without names or NIPs, small groups hidden."""
    m = tables.month_scores
    results = [StaffResult(r.unit_id, r.predicate if r.rated else None, r.activity_score, r.discipline_score)
               for r in session.execute(select(m.c.unit_id, m.c.predicate, m.c.rated, m.c.activity_score,
                                               m.c.discipline_score).where(m.c.year == year, m.c.month == month))]
    names = dict(session.execute(select(tables.units.c.unit_id, tables.units.c.name)).all())

    def count(c):
        return {"value": c.value, "text": c.text}

    return {"year": year, "month": month, "min_group": policy.public_min_group, "units": [{
        "unit_id": a.unit_id, "unit_name": names.get(a.unit_id), "staff": count(a.staff),
        "predicates": [{"predicate": name, **count(c)} for name, c in a.predicates],
        "average_activity_score": None if a.average_activity_score is None else str(a.average_activity_score),
        "average_discipline_score": None if a.average_discipline_score is None else str(a.average_discipline_score),
    } for a in public_aggregates(results, policy)]}
