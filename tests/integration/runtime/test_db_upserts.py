"""The bulk upsert and the inbox claim behave the same on PostgreSQL and on SQLite (the embedded default)."""
import uuid

import pytest
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import (JSON, BigInteger, Boolean, Column, Date, DateTime, Float, Integer, LargeBinary, MetaData,
                        Numeric, SmallInteger, String, Table, Text, Time, create_engine, select, text)
from sqlalchemy.engine import make_url

from runtime import jsoncodec
from runtime.db import among, insert_rows, make_engine, make_session_factory, unnested, upsert_row, upsert_rows
from runtime.events import make_event
from runtime.messaging import add_messaging_tables, claim

METADATA = MetaData()
SCORES = Table("scores", METADATA, Column("who", String(20), primary_key=True), Column("version", Integer),
               Column("digest", String(20)), Column("note", String(20)))
TYPED = Table("typed", METADATA, Column("who", String(20), primary_key=True), Column("score", Numeric(7, 2)),
              Column("at", DateTime(timezone=True)), Column("doc", JSON), Column("maybe", JSON, nullable=True))


def _every_type(name: str) -> Table:
    """A table of every column type the services' tables use, and a few more."""
    return Table(name, METADATA, Column("n", Integer, primary_key=True), Column("word", String(60)),
                 Column("note", Text), Column("small", SmallInteger), Column("big", BigInteger),
                 Column("yes", Boolean), Column("day", Date), Column("at", DateTime(timezone=True)),
                 Column("local", DateTime(timezone=False)), Column("clock", Time), Column("amount", Numeric(9, 4)),
                 Column("ratio", Float), Column("half", Float(precision=24)), Column("doc", JSON),
                 Column("blob", LargeBinary))


COPIED, INSERTED = _every_type("copied"), _every_type("inserted")  # by `insert_rows`, by SQLAlchemy's INSERT
add_messaging_tables(METADATA)


@pytest.fixture(params=["postgresql", "sqlite"])
def sessions(request, tmp_path):
    if request.param == "sqlite":
        engine, cleanup = make_engine(f"sqlite:///{tmp_path / 'upserts.db'}"), None
    else:
        server = request.getfixturevalue("pg_server_url")
        name = f"t_upserts_{uuid.uuid4().hex[:10]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine = make_engine(make_url(server).set(database=name).render_as_string(hide_password=False))

        def cleanup():
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            admin.dispose()
    METADATA.create_all(engine)
    yield make_session_factory(engine, METADATA)
    engine.dispose()
    if cleanup:
        cleanup()


def _write(sessions, rows):
    """A new version where the digest changed, as scoring writes month scores; the rows written come back."""
    with sessions() as session, session.begin():
        return sorted(tuple(r) for r in upsert_rows(
            session, SCORES, rows, ("who",), only_if=lambda table, new: table.c.digest != new.digest,
            overrides={"version": lambda table, _new: table.c.version + 1}, returning=("who", "version")))


def test_upsert_inserts_updates_only_what_changed_and_returns_it(sessions):
    assert _write(sessions, [{"who": "a", "version": 1, "digest": "x", "note": "first"},
                             {"who": "b", "version": 1, "digest": "y", "note": "first"}]) == [("a", 1), ("b", 1)]
    assert _write(sessions, [{"who": "a", "version": 1, "digest": "x", "note": "same digest"},
                             {"who": "b", "version": 1, "digest": "z", "note": "changed"},
                             {"who": "c", "version": 1, "digest": "w", "note": "new"}]) == [("b", 2), ("c", 1)]
    with sessions() as session:
        stored = {r.who: (r.version, r.digest, r.note) for r in session.execute(select(SCORES))}
    assert stored == {"a": (1, "x", "first"), "b": (2, "z", "changed"), "c": (1, "w", "new")}
    assert _write(sessions, []) == []


def test_claim_returns_each_new_event_once(sessions):
    events = [make_event("directory.holiday.upserted", name, {"date": "2026-12-25", "name": name}, "test")
              for name in ("Natal", "Nyepi")]
    with sessions() as session, session.begin():
        assert claim(session, "payroll", events + events[:1]) == events
    with sessions() as session, session.begin():
        assert claim(session, "payroll", events[::-1]) == []
        assert claim(session, "scoring", events[1:]) == events[1:]


def test_a_one_row_upsert_sets_only_the_columns_it_names(sessions):
    with sessions() as session, session.begin():
        upsert_row(session, SCORES, {"who": "a"}, {"version": 1, "digest": "x", "note": "first"})
    with sessions() as session, session.begin():
        upsert_row(session, SCORES, {"who": "a"}, {"note": "second"})
        upsert_row(session, SCORES, {"who": "b"}, {"version": 7})
    with sessions() as session:
        stored = {r.who: (r.version, r.digest, r.note) for r in session.execute(select(SCORES))}
    assert stored == {"a": (1, "x", "second"), "b": (7, None, None)}


def test_upsert_keeps_each_column_type_as_a_single_row_insert_would(sessions):
    """Numbers stay exact, instants keep their zone, documents nest, and None in a JSON column is JSON's null,
    whichever way the rows travel (one JSON parameter on PostgreSQL)."""
    at = datetime(2026, 10, 31, 17, 0, tzinfo=timezone.utc)
    rows = [{"who": "a", "score": Decimal("87.25"), "at": at, "doc": {"days": [1, 2], "note": "é"}, "maybe": None},
            {"who": "b", "score": Decimal("60"), "at": at, "doc": [], "maybe": {"x": 1}}]
    with sessions() as session, session.begin():
        upsert_rows(session, TYPED, rows, ("who",))
    with sessions() as session, session.begin():
        upsert_rows(session, TYPED, [dict(rows[1], score=Decimal("61.50"))], ("who",))
    with sessions() as session:
        stored = {r.who: (r.score, r.at.replace(tzinfo=r.at.tzinfo or timezone.utc), r.doc, r.maybe)  # SQLite: naive
                  for r in session.execute(select(TYPED))}
        nulls = session.execute(select(TYPED.c.who).where(TYPED.c.maybe.is_(None))).scalars().all()
    assert stored == {"a": (Decimal("87.25"), at, {"days": [1, 2], "note": "é"}, None),
                      "b": (Decimal("61.50"), at, [], {"x": 1})}
    assert nulls == []  # stored as JSON null, not SQL NULL, as SQLAlchemy writes None to a JSON column


def test_a_read_among_many_keys_finds_exactly_those_keys_whatever_their_characters(sessions):
    """`among` sends a list of strings as one array text on PostgreSQL: quotes, backslashes, commas, braces,
    spaces, the word NULL and the empty string are keys like any other, and no other key matches."""
    awkward = ['a"b', "c\\d", "e,f", "{g}", " h ", "NULL", "", "é ü", "i'j", "\\", '"']
    others = ["ab", "cd", "e", "g", "h", "null", "x"]
    with sessions() as session, session.begin():
        upsert_rows(session, SCORES, [{"who": who, "version": 1} for who in awkward + others], ("who",))
    with sessions() as session:
        found = session.execute(select(SCORES.c.who).where(among(session, SCORES.c.who, awkward))).scalars().all()
        numbers = session.execute(select(SCORES.c.who).where(among(session, SCORES.c.version, [1]))).scalars().all()
        none = session.execute(select(SCORES.c.who).where(among(session, SCORES.c.who, []))).scalars().all()
    assert sorted(found) == sorted(awkward)
    assert sorted(numbers) == sorted(awkward + others) and none == []


def test_several_lists_unnested_together_come_back_row_by_row_with_their_types(sessions):
    """`unnested` sends each list as one array parameter and joins them as a set on PostgreSQL: the n-th values of
    the lists make the n-th row, whatever the strings' characters, with nulls, dates, instants and JSON documents
    kept, and a list of nothing but nulls typed by its column."""
    awkward = ['a"b', "c\\d", "e,f", "{g}", " h ", "NULL", "", "é ü", None]
    n = len(awkward)
    at = datetime(2026, 12, 1, 7, 30, tzinfo=timezone.utc)
    values = {"who": awkward, "day": [date(2026, 11, k + 1) for k in range(n)], "at": [at] * (n - 1) + [None],
              "doc": [{"k": k, "s": awkward[k]} for k in range(n - 1)] + [None], "nothing": [None] * n}
    with sessions() as session:
        if session.bind.dialect.name != "postgresql":
            pytest.skip("unnest of arrays is PostgreSQL's")
        given = unnested("given", {"who": Text, "day": Date, "at": DateTime(timezone=True), "doc": JSON,
                                   "nothing": Integer})
        rows = session.execute(select(given.c.who, given.c.day, given.c.at, given.c.doc, given.c.nothing),
                               values).all()
    assert [tuple(row) for row in rows] == list(zip(*values.values()))


def test_a_json_column_reads_back_what_was_written_integers_beyond_64_bits_included(sessions):
    """JSON columns are read with the platform's codec (`runtime.db.json_loads`) on both backends: a document
    SQLAlchemy wrote with an integer beyond 64 bits reads back with that integer, not a float near it."""
    documents = {"small": {"n": 1, "x": 0.5, "s": "é"}, "huge": {"n": 123456789012345678901234567890, "list": [-2 ** 70]}}
    with sessions() as session, session.begin():
        session.execute(TYPED.insert(), [{"who": who, "doc": doc} for who, doc in documents.items()])
    with sessions() as session:
        stored = dict(session.execute(select(TYPED.c.who, TYPED.c.doc)).all())
    assert stored == documents and isinstance(stored["huge"]["n"], int)


def test_inserted_rows_read_back_as_written_whatever_their_types(sessions):
    """`insert_rows` (a binary COPY on PostgreSQL) stores what SQLAlchemy's INSERT of the same rows stores, column
    by column as PostgreSQL writes it back as text, and reads back as written: instants in any zone as the same
    instant, naive local times and dates as given, text with tabs, newlines, backslashes and COPY's null marker
    kept, integers to 64 bits, exact decimals, NULLs in every column; a JSON column holds the codec's text."""
    jakarta = ZoneInfo("Asia/Jakarta")
    awkward = ["a\tb\nc\\d", "\\N", "", " ", "'\"", "é ü ∑ 🙂", "\r\n", "back\\slash\\"]
    rows = [{"n": n, "word": word, "note": f"{word}\t{n}\n{word}", "small": -32768 + n, "big": 2 ** 63 - 1 - n,
             "yes": n % 2 == 0, "day": date(2026, 12, 1) - timedelta(days=400 * n),
             "at": datetime(2026, 12, 1, 7, 30, 15, 123456 + n, tzinfo=timezone.utc) if n % 2 else
             datetime(2026, 12, 1, 14, 30, n, tzinfo=jakarta),
             "local": datetime(2026, 12, 1, 7, 30, 0, n), "clock": time(7, 30, n), "amount": Decimal(f"-{n}.0625"),
             "ratio": 0.1 * n - 1e-300, "half": 0.5 + n,
             "doc": {"word": word, "n": [n, -2 ** 62, 1.5, None, True], "nested": {"k": word}},
             "blob": bytes(range(n, n + 40))} for n, word in enumerate(awkward)]
    rows.append({"n": 99, **{c.name: None for c in COPIED.columns if c.name != "n"}})
    with sessions() as session, session.begin():
        insert_rows(session, COPIED, rows)
        session.execute(INSERTED.insert(), rows)
    with sessions() as session:
        copied = [r._asdict() for r in session.execute(select(COPIED).order_by(COPIED.c.n))]
        inserted = [r._asdict() for r in session.execute(select(INSERTED).order_by(INSERTED.c.n))]
        postgresql = session.bind.dialect.name == "postgresql"
        if postgresql:  # every column as PostgreSQL writes it as text, the JSON documents' text aside
            as_text = ", ".join(f"{c.name}::text" for c in COPIED.columns if c.name != "doc")
            copied_text, inserted_text = (session.execute(text(f"SELECT {as_text} FROM {name} ORDER BY n")).all()
                                          for name in ("copied", "inserted"))
            documents = session.execute(text("SELECT doc::text FROM copied ORDER BY n")).scalars().all()
    assert copied == inserted
    if postgresql:
        assert copied == rows  # the instants compare as instants, whatever their zone
        assert copied_text == inserted_text
        assert documents == [jsoncodec.dumps(row["doc"]) for row in rows[:-1]] + [None]
    else:  # SQLite keeps an instant's wall clock, without its zone
        assert [dict(row, at=None) for row in copied] == [dict(row, at=None) for row in rows]
