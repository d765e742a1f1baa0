"""A big poll of `by_key` events is applied in lanes by key, each lane its own transaction, on a real PostgreSQL:
every event once, each key's events in order, a failing lane redone event by event while the other keeps its
single transaction; anything else (small polls, other handlers, one lane) is one transaction as before."""
from collections import Counter, namedtuple

import pytest
from sqlalchemy import BigInteger, Column, Identity, String, Table, insert, select, text

from runtime.consumer import LANE_MIN_EVENTS, EventConsumer, ManyHandler
from runtime.events import make_event
from tests.conftest import messaging_database

pytestmark = pytest.mark.postgres

Record = namedtuple("Record", "topic partition offset key value")


@pytest.fixture
def sessions(pg_server_url):
    with messaging_database(pg_server_url, "lanes", lambda metadata: Table(
            "applied", metadata, Column("seq", BigInteger, Identity(), primary_key=True),
            Column("event_id", String(36), unique=True), Column("key", String(40)), Column("name", String(40)),
            Column("tx", BigInteger))) as made:
        yield made


def _events(count: int, keys: int, event_type: str = "directory.holiday.upserted") -> list:
    """`count` events spread over `keys` keys, each key's events numbered in order in their name."""
    made = []
    for n in range(count):
        key = f"k{n % keys:03d}"
        made.append(make_event(event_type, key, {"date": "2026-08-17", "name": f"{key}-{n // keys:05d}"}, "test")
                    if event_type == "directory.holiday.upserted" else
                    make_event(event_type, key, {"unit_id": key, "name": f"{key}-{n // keys:05d}", "active": True},
                               "test"))
    return made


def _records(events) -> list:
    return [Record("test.lanes", 0, n, e.key.encode(), e.to_json().encode()) for n, e in enumerate(events)]


def _record(session, events) -> None:
    """Store each event with the transaction that applied it; a name starting with `fail-once` fails the first
    time it is seen in a batch of more than one (a transient failure of the lane's transaction)."""
    if len(events) > 1 and any(e.data["name"].startswith("fail-once") for e in events):
        raise RuntimeError("the lane's batch fails")
    tx = session.execute(text("SELECT txid_current()")).scalar()
    session.execute(insert(session.info["metadata"].tables["applied"]), [
        {"event_id": e.event_id, "key": e.key, "name": e.data["name"], "tx": tx} for e in events])


def _applied(sessions) -> list:
    with sessions() as session:
        applied = session.info["metadata"].tables["applied"]
        return session.execute(select(applied.c.event_id, applied.c.key, applied.c.name, applied.c.tx)
                               .order_by(applied.c.seq)).all()


def _handle(sessions, events, lanes: int, by_key: bool = True) -> None:
    """`events` as one poll's records, handled by a consumer with `lanes` (holidays `by_key`, units not)."""
    handlers = {"directory.holiday.upserted": ManyHandler(_record, by_key=by_key),
                "directory.unit.upserted": ManyHandler(_record)}
    consumer = EventConsumer("test", None, None, sessions, handlers, max_attempts=2, retry_backoff_s=0, lanes=lanes)
    try:
        consumer.handle_records(_records(events))
    finally:
        consumer.close()


def _in_order_per_key(rows) -> bool:
    names = {}
    for _, key, name, _ in rows:
        names.setdefault(key, []).append(name)
    return all(seen == sorted(seen) for seen in names.values())


def test_a_big_poll_is_applied_in_lanes_by_key_each_once_in_order(sessions):
    events = _events(3 * LANE_MIN_EVENTS, keys=60)
    _handle(sessions, events, lanes=2)
    rows = _applied(sessions)
    assert sorted(r.event_id for r in rows) == sorted(e.event_id for e in events)
    assert _in_order_per_key(rows)
    transactions = {r.tx for r in rows}
    assert len(transactions) == 2  # two lanes, one transaction each
    lane_of = {}
    for row in rows:
        assert lane_of.setdefault(row.key, row.tx) == row.tx  # a key's events all in one lane
    # Redelivered whole: the inbox skips every one of them, in either lane.
    _handle(sessions, events, lanes=2)
    assert len(_applied(sessions)) == len(events)


def test_a_failing_lane_is_redone_event_by_event_and_the_other_lane_kept_whole(sessions):
    events = _events(2 * LANE_MIN_EVENTS, keys=40)
    poison = make_event("directory.holiday.upserted", events[0].key, {"date": "2026-08-17", "name": "fail-once"},
                        "test")
    events.insert(5, poison)
    _handle(sessions, events, lanes=2)
    rows = _applied(sessions)
    assert sorted(r.event_id for r in rows) == sorted(e.event_id for e in events)
    assert _in_order_per_key(r for r in rows if r.event_id != poison.event_id)
    per_transaction = Counter(r.tx for r in rows)
    whole = [tx for tx, count in per_transaction.items() if count > 1]
    assert len(whole) == 1  # the other lane kept its single transaction
    assert LANE_MIN_EVENTS // 2 < per_transaction[whole[0]] < len(events) - LANE_MIN_EVENTS // 2
    assert all(per_transaction[r.tx] == 1 for r in rows if r.tx != whole[0])  # the failing one: event by event
    assert all(r.tx != whole[0] for r in rows if r.key == poison.key)


@pytest.mark.parametrize("case", ["small poll", "one lane", "not by key", "a mixed poll"])
def test_anything_else_is_one_transaction(sessions, case):
    events = _events(2 * LANE_MIN_EVENTS - (1 if case == "small poll" else 0), keys=30)
    if case == "a mixed poll":
        events.insert(700, _events(1, keys=1, event_type="directory.unit.upserted")[0])
    _handle(sessions, events, lanes=1 if case == "one lane" else 2, by_key=case != "not by key")
    rows = _applied(sessions)
    assert len(rows) == len(events)
    assert len({r.tx for r in rows}) == 1
