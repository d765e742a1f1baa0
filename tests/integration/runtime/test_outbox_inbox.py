"""Outbox and inbox on a real PostgreSQL: events commit or roll back with the state change; the inbox dedupes."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, String, Table, func, insert, select, text

from runtime.events import make_event
from runtime.messaging import claim, publish
from tests.conftest import messaging_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def sessions(pg_server_url):
    with messaging_database(pg_server_url, "runtime",
                            lambda metadata: Table("things", metadata, Column("name", String(50), primary_key=True))) as made:
        yield made


def _holiday(name):
    return make_event("directory.holiday.upserted", "2026-12-25", {"date": "2026-12-25", "name": name}, "test")


def test_outbox_row_commits_with_the_state_change(sessions):
    with sessions() as session, session.begin():
        things = session.info["metadata"].tables["things"]
        session.execute(insert(things).values(name="a"))
        publish(session, _holiday("Natal"))
    with sessions() as session:
        outbox = session.info["metadata"].tables["outbox"]
        rows = session.execute(select(outbox.c.topic)).all()
    assert rows == [("directory.holidays",)]


def test_outbox_row_rolls_back_with_a_failed_change(sessions):
    with pytest.raises(RuntimeError):
        with sessions() as session, session.begin():
            publish(session, _holiday("Natal"))
            raise RuntimeError("handler failed after writing")
    with sessions() as session:
        outbox = session.info["metadata"].tables["outbox"]
        assert session.execute(select(func.count()).select_from(outbox)).scalar() == 0


def test_inbox_claims_each_event_once_per_consumer(sessions):
    natal, nyepi = _holiday("Natal"), _holiday("Nyepi")
    with sessions() as session, session.begin():
        assert claim(session, "scoring", [natal, natal, nyepi]) == [natal, nyepi]  # repeated in the batch: once
    with sessions() as session, session.begin():
        assert claim(session, "scoring", [nyepi, natal]) == []
        assert claim(session, "payroll", [nyepi]) == [nyepi]
    with pytest.raises(RuntimeError):  # a claim rolled back with its transaction is no claim
        with sessions() as session, session.begin():
            assert claim(session, "activities", [natal]) == [natal]
            raise RuntimeError("handler failed")
    with sessions() as session, session.begin():
        assert claim(session, "activities", [natal]) == [natal]



def test_a_claim_of_new_and_recorded_events_keeps_the_new_and_what_its_transaction_wrote_before(sessions):
    natal, nyepi, waisak = _holiday("Natal"), _holiday("Nyepi"), _holiday("Waisak")
    with sessions() as session, session.begin():
        assert claim(session, "scoring", [nyepi]) == [nyepi]
    with sessions() as session, session.begin():
        session.execute(insert(session.info["metadata"].tables["things"]).values(name="written first"))
        assert claim(session, "scoring", [natal, nyepi, waisak, natal]) == [natal, waisak]
        assert claim(session, "scoring", [waisak]) == []  # recorded earlier in this transaction
    with sessions() as session:
        things = session.info["metadata"].tables["things"]
        assert session.execute(select(things.c.name)).scalars().all() == ["written first"]
        inbox = session.info["metadata"].tables["inbox"]
        assert sorted(session.execute(select(inbox.c.event_id)).scalars()) == sorted(
            e.event_id for e in (natal, nyepi, waisak))
        for processed_at in session.execute(select(inbox.c.processed_at)).scalars():  # the instant, whatever its form
            assert abs(processed_at - datetime.now(timezone.utc)) < timedelta(minutes=1)


def _inbox_rows_inserted(session) -> int:
    """The inbox rows this transaction's statements have inserted so far, those of a refused statement included
    (PostgreSQL's count, which a rolled-back savepoint does not take back)."""
    return session.execute(text("SELECT pg_stat_get_xact_tuples_inserted('inbox'::regclass)")).scalar()


@pytest.mark.parametrize("redelivery_possible", [False, True])
def test_a_claim_told_of_redeliveries_skips_the_recorded_without_a_refused_insert(sessions, redelivery_possible):
    """A poll after a rewind or a rebalance may hold recorded events: told so, the claim goes straight to the insert
    that skips them, so PostgreSQL logs no ERROR (a COPY refused by the key is one). Untold, the COPY is tried
    first: the rows it inserted before the key refused it (the recorded one's at least) are counted too."""
    natal, nyepi, waisak = _holiday("Natal"), _holiday("Nyepi"), _holiday("Waisak")
    with sessions() as session, session.begin():
        assert claim(session, "scoring", [natal], redelivery_possible=redelivery_possible) == [natal]
    with sessions() as session, session.begin():
        session.execute(insert(session.info["metadata"].tables["things"]).values(name="written first"))
        before = _inbox_rows_inserted(session)
        assert claim(session, "scoring", [nyepi, natal, waisak, nyepi],
                     redelivery_possible=redelivery_possible) == [nyepi, waisak]
        inserted = _inbox_rows_inserted(session) - before
    assert (inserted == 2) if redelivery_possible else (inserted > 2), inserted
    with sessions() as session:
        assert session.execute(select(session.info["metadata"].tables["things"].c.name)).scalars().all() == [
            "written first"]
        inbox = session.info["metadata"].tables["inbox"]
        assert sorted(session.execute(select(inbox.c.event_id)).scalars()) == sorted(
            e.event_id for e in (natal, nyepi, waisak))


@pytest.mark.parametrize("redelivery_possible", [False, True])
@pytest.mark.parametrize("first_commits", [True, False])
def test_two_instances_claiming_the_same_event_at_once_apply_it_once(sessions, first_commits, redelivery_possible):
    """A rebalance can hand a partition over while its old owner still applies a poll: the new owner's claim waits
    for the old owner's transaction, then skips what it recorded (or takes it all, if it rolled back), whether it
    tries the COPY first or, told the poll may hold redeliveries, skips the recorded ones at once."""
    import threading
    natal, nyepi, waisak = _holiday("Natal"), _holiday("Nyepi"), _holiday("Waisak")
    second: dict = {}
    with sessions() as old_owner:
        old_owner.begin()
        assert claim(old_owner, "scoring", [natal, nyepi]) == [natal, nyepi]

        def new_owner():
            with sessions() as session, session.begin():
                second["claimed"] = claim(session, "scoring", [nyepi, waisak],
                                          redelivery_possible=redelivery_possible)

        thread = threading.Thread(target=new_owner)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive()  # waiting on the old owner's uncommitted inbox row
        old_owner.commit() if first_commits else old_owner.rollback()
        thread.join(10)
    assert second["claimed"] == ([waisak] if first_commits else [nyepi, waisak])
    with sessions() as session:
        inbox = session.info["metadata"].tables["inbox"]
        expected = (natal, nyepi, waisak) if first_commits else (nyepi, waisak)
        assert sorted(session.execute(select(inbox.c.event_id)).scalars()) == sorted(e.event_id for e in expected)


def test_many_events_are_written_in_order_exactly_as_published_one_by_one(sessions):
    from runtime.events import make_events
    holidays = make_events("directory.holiday.upserted",
                           [(f"2026-01-{d:02d}", {"date": f"2026-01-{d:02d}", "name": f"H{d}"}) for d in range(1, 29)],
                           "test")
    with sessions() as session, session.begin():
        publish(session, *holidays)
    with sessions() as session:
        outbox = session.info["metadata"].tables["outbox"]
        rows = session.execute(select(outbox.c.event_id, outbox.c.topic, outbox.c.key, outbox.c.type,
                                      outbox.c.payload).order_by(outbox.c.id)).all()
    assert [tuple(r) for r in rows] == [(e.event_id, e.topic, e.key, e.type, e.to_json()) for e in holidays]


def test_a_relay_read_stops_after_its_batch_however_many_rows_wait(sessions):
    """The relay reads the outbox (only unsent rows: sent ones are deleted) in outbox order a batch at a time: the
    primary key's scan is already in order and stops at the batch's end, however many rows were sent before."""
    import json
    from datetime import datetime, timezone
    from sqlalchemy import delete, text
    from runtime.relay import unsent_after
    with sessions() as session, session.begin():
        outbox = session.info["metadata"].tables["outbox"]
        now = datetime.now(timezone.utc)
        session.execute(text(
            "INSERT INTO outbox (event_id, topic, key, type, payload, created_at) "
            "SELECT 'e' || n, 't', 'k' || (n % 50), 'x', '{}', :now FROM generate_series(1, 20000) n"), {"now": now})
        session.execute(delete(outbox).where(outbox.c.id <= 5000))
    with sessions() as session, session.begin():
        session.execute(text("ANALYZE outbox"))
        read = unsent_after(session.info["metadata"].tables["outbox"], 6000, 1000)
        compiled = read.compile(session.bind, compile_kwargs={"literal_binds": True})
        plan = session.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled}")).scalar()
        rows = session.execute(read).all()
    plan = plan if isinstance(plan, list) else json.loads(plan)
    nodes, stack = [], [plan[0]["Plan"]]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node.get("Plans", []))
    assert [r.id for r in rows] == list(range(6001, 7001))
    assert not [n for n in nodes if n["Node Type"] == "Sort"], nodes
    scans = [n for n in nodes if n["Node Type"] in ("Index Scan", "Index Only Scan")]
    assert scans and all(n["Index Name"] == "outbox_pkey" and n["Actual Rows"] <= 1000 for n in scans), scans
