"""SQLAlchemy 2 engine and sessions, one database per service."""
from __future__ import annotations

import functools
import json
import operator
import time
from collections.abc import Sequence
from pathlib import Path

from psycopg.types.array import ListBinaryDumper
from sqlalchemy import (ARRAY, JSON, MetaData, Table, Text, any_, bindparam, cast, column, create_engine, event, func,
                        literal_column, select, text)
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.types import TypeDecorator
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from runtime import jsoncodec


PING_AFTER_IDLE_S = 1.0


def make_engine(url: str) -> Engine:
    """An engine tuned for the backend: WAL and a busy timeout on SQLite, on PostgreSQL a ping of a pooled connection
    idle longer than PING_AFTER_IDLE_S (`_ping_after_idle`); JSON columns read with `runtime.jsoncodec` (`json_loads`)
    on both; on SQLite written by `json.dumps` with dates, times, instants and decimals as `runtime.jsoncodec` writes
    them on PostgreSQL (`_sqlite_json`)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, json_serializer=_sqlite_json,
                               json_deserializer=json_loads)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below

        @event.listens_for(engine, "begin")
        def _begin_immediate(connection):
            # Several processes (web workers, relay, consumer) write one file. A deferred transaction that
            # reads first and writes later fails at once with "database is locked" when another process
            # wrote in between; taking the write lock at BEGIN makes it wait on the busy timeout instead.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # Sessions in UTC, whatever the server's own zone: stored instants come back as `datetime.UTC` (psycopg maps the
    # zone "UTC" to it; a server in "Etc/UTC" gave a ZoneInfo, which compares with UTC instants ten times slower,
    # and a server in Asia/Jakarta would give local times). Every instant is stored in UTC (ARCHITECTURE.md).
    engine = create_engine(url, pool_size=5, max_overflow=10,
                           connect_args={"options": "-c TimeZone=UTC"}, json_deserializer=json_loads)

    @event.listens_for(engine, "connect")
    def _binary_arrays(dbapi_connection, _record):
        dbapi_connection.adapters.register_dumper(_Array, ListBinaryDumper)

    _ping_after_idle(engine)
    return engine


def _sqlite_json(value) -> str:
    """A JSON column's text on SQLite: SQLAlchemy's `json.dumps`, which refused dates, times, instants and decimals,
    writing them as `runtime.jsoncodec` does on PostgreSQL (`insert_rows`, `upsert_rows`): `isoformat()`, and a
    decimal's string. A value that holds them (an attendance day's content) is written alike on both."""
    return json.dumps(value, default=jsoncodec.default)


def _ping_after_idle(engine: Engine) -> None:
    """Ping a pooled connection at checkout when it has been idle longer than PING_AFTER_IDLE_S; when the ping finds
    it gone, every pooled connection is replaced and the checkout gets a new one, as SQLAlchemy's `pool_pre_ping`
    does.

    What dies in a pool is an idle connection (a server restarted, a firewall's or the server's idle timeout):
    `pool_pre_ping` paid a round trip on every checkout to find it, one of the four of a device upload (ping,
    BEGIN, statement, COMMIT) and a statement of its backend. A connection handed back less than a second ago
    was answering then; if it broke since, its statement fails as it would have a moment later anyway, and that
    failure, a disconnect, makes SQLAlchemy replace every connection of the pool too."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection, record):
        record.info["idle_from"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection, record, _proxy):
        idle_from = record.info.get("idle_from")  # none yet: connected for this checkout
        if idle_from is None or time.monotonic() - idle_from <= PING_AFTER_IDLE_S:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise InvalidatePoolError(str(error)) from error
            raise


def json_loads(data: str | bytes):
    """A JSON column's value, decoded by `runtime.jsoncodec` (orjson: 0.3 µs for a flag's evidence, where the
    standard library's `json.loads`, psycopg's default, took 3), or by `json.loads` where the two would differ.
    PostgreSQL keeps a json column's text as written, and `json.dumps` (what SQLAlchemy writes a JSON column's
    value with) writes any integer: orjson reads one beyond 64 bits as a float, so a text with a run of 19 digits
    or more (rare: a NIP has 18) is read by `json.loads`, as is one orjson refuses (a lone surrogate's escape, a
    number beyond a double's range; PostgreSQL refuses NaN). The check costs 0.5 µs for a flag's evidence."""
    text = data.encode() if isinstance(data, str) else data
    if _NINETEEN_DIGITS not in text.translate(_DIGITS_AS_ZEROS):
        try:
            return jsoncodec.loads(text)
        except ValueError:
            pass
    return json.loads(text)


_DIGITS_AS_ZEROS = bytes.maketrans(b"123456789", b"000000000")
_NINETEEN_DIGITS = b"0" * 19


def own_connection(engine: Engine, application_name: str):
    """A PostgreSQL connection of its own (psycopg, autocommit) to the engine's database, outside its pool: for a
    lock held as long as the connection (`runtime.lease`), a LISTEN (`runtime.wakeup`), the relay's reads."""
    import psycopg
    return psycopg.connect(engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
                           autocommit=True, application_name=application_name)


def make_session_factory(engine: Engine, metadata: MetaData) -> sessionmaker[Session]:
    """Sessions bound to a service's tables (`session.info["metadata"]`), not expiring rows on commit."""
    return sessionmaker(engine, expire_on_commit=False, info={"metadata": metadata})


def insert_for(session: Session, table: Table):
    """An INSERT of `table` in the session's dialect (PostgreSQL or SQLite), which has `on_conflict_*`."""
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def among(session: Session, col, values):
    """`col IN values` for a set-based read of many keys: on PostgreSQL `col = ANY(:array)` (`array_parameter`), one
    parameter however many values, so the statement's text is the same for every batch (psycopg converts and caches
    it once; an IN list of thousands of placeholders is re-parsed in Python on every call); elsewhere an IN."""
    values = list(values)
    if session.bind.dialect.name == "postgresql":
        return col == any_(array_parameter(None, col.type, values))
    return col.in_(values)


def array_parameter(name: str | None, element_type, values: Sequence | None = None):
    """A parameter `name` (anonymous for None) taking a list (`values`, or the value given at execution) to
    PostgreSQL as one array of `element_type`, in binary: the one way to send a list, for `= ANY` (`among`) and
    for several lists joined as a set (`unnested`). psycopg writes a list's text form item by item in Python (0.8-2
    µs a string), its binary form in C (0.3 µs); an array sent as one string of its text form and cast in the
    statement costs Python more (0.44 µs a string) and hides the values from the planner, which cannot fold the
    cast (`= ANY` of that cast took PostgreSQL 600 µs an event in the attendance consumer, 33 with the array's
    values). A JSON element goes as the text `runtime.jsoncodec` writes (`unnested` casts it)."""
    if values is None:
        return bindparam(name, type_=_BinaryArray(element_type))
    return bindparam(name, list(values), type_=_BinaryArray(element_type))


def unnested(name: str, columns: dict):
    """The rows of several array parameters joined as a set (`unnest`), as table `name` with a column of each
    type `columns` names; each column's parameter (`array_parameter`) bears the column's name. The statement
    casts each parameter to its array type (SQLAlchemy's psycopg dialect writes the cast), so an array of nulls
    or of JSON texts has its column's type."""
    return func.unnest(*(array_parameter(column_name, kind) for column_name, kind in columns.items())).table_valued(
        *(column(column_name, kind) for column_name, kind in columns.items())).render_derived(name=name)


class _Array(list):
    """A list sent to PostgreSQL as an array in binary (`make_engine` registers psycopg's binary list dumper)."""


class _BinaryArray(TypeDecorator):
    """An array of the element type whose value goes to psycopg as `_Array` (SQLAlchemy's ARRAY would copy it into
    a plain list), JSON elements as their text."""

    impl = ARRAY
    cache_ok = True

    def bind_processor(self, dialect):
        """The value as `_Array`."""
        if isinstance(self.impl.item_type, JSON):
            return lambda values: _Array([None if value is None else jsoncodec.dumps(value) for value in values])
        return _Array


def upsert_rows(session: Session, table: Table, rows: list[dict], keys: tuple[str, ...], only_if=None,
                overrides: dict | None = None, returning: tuple = ()) -> list:
    """Insert `rows`, or update them on a conflict of `keys` (PostgreSQL or SQLite), in one statement: every other
    column the rows carry (all rows carry the same) takes the new row's value, or `overrides[name](table, excluded)`,
    and only where `only_if(table, excluded)` holds; columns the rows leave out keep their value (the rows still
    carry every NOT NULL column: the database checks the row it would insert before it finds the conflict).
    Returns the rows written (inserted or updated) with the `returning` columns. The one upsert: a projection
    keeping one record passes a list of one (`upsert_row`).
    """
    if not rows:
        return []
    if session.bind.dialect.name == "postgresql":
        # The rows travel as one JSON parameter, as in `insert_rows`: a multi-row VALUES list of thousands of
        # placeholders (what an executemany with RETURNING becomes) is re-parsed in Python on every call.
        statement = postgresql.insert(table).from_select(list(rows[0]), _recordset(table, tuple(rows[0])))
    else:
        statement = insert_for(session, table)
    excluded = statement.excluded
    given = set(rows[0]) | set(overrides or ())
    changes = {c.name: (overrides or {}).get(c.name, lambda _t, e, n=c.name: e[n])(table, excluded)
               for c in table.columns if c.name not in keys and c.name in given}
    statement = statement.on_conflict_do_update(index_elements=list(keys), set_=changes,
                                                where=only_if(table, excluded) if only_if else None)
    parameters = {"rows": jsoncodec.dumps(list(rows))} if statement.select is not None else rows
    if returning:
        return session.execute(statement.returning(*(table.c[name] for name in returning)), parameters).all()
    session.execute(statement, parameters)
    return []


def upsert_row(session: Session, table: Table, key: dict, values: dict) -> None:
    """Set one row's `values` by its `key`, inserting it when there is none: `upsert_rows` with one row."""
    upsert_rows(session, table, [{**key, **values}], tuple(key))


@functools.cache
def _recordset(table: Table, columns: tuple[str, ...]):
    """SELECT the `columns` of `table` from the JSON rows of parameter `:rows`, typed as the table types them; a
    JSON null in a JSON column is JSON's null, as SQLAlchemy writes None there, not SQL's NULL."""
    record = func.json_to_recordset(cast(bindparam("rows", type_=Text), postgresql.JSON)).table_valued(
        *(column(name, table.c[name].type) for name in columns)).render_derived(with_types=True)
    return select(*(func.coalesce(record.c[name], literal_column("'null'::json")).label(name)
                    if isinstance(table.c[name].type, JSON) and not table.c[name].type.none_as_null
                    else record.c[name] for name in columns))


@functools.cache
def _recordset_sql(table: Table, columns: tuple[str, ...], ignore_conflicts: bool, returning: tuple[str, ...]):
    dialect = postgresql.dialect()
    names = ", ".join(f'"{c}"' for c in columns)
    record = ", ".join(f'"{c}" {table.c[c].type.compile(dialect=dialect)}' for c in columns)
    suffix = (" ON CONFLICT DO NOTHING" if ignore_conflicts else "") + (
        " RETURNING " + ", ".join(f'"{c}"' for c in returning) if returning else "")
    return text(f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM json_to_recordset(CAST(:rows AS json)) '
                f"AS r({record}){suffix}")


# The form a COPY writes each column's values in (`_copy_rows`): the binary form of a PostgreSQL type, by the name
# the table's DDL gives the column's type (without its length, precision or scale). A JSON document goes as its
# text, which is also json's binary form.
_BINARY_FORMS = {"VARCHAR": "text", "CHAR": "text", "TEXT": "text", "JSON": "text", "SMALLINT": "int2",
                 "INTEGER": "int4", "BIGINT": "int8", "BOOLEAN": "bool", "REAL": "float4",
                 "DOUBLE PRECISION": "float8", "FLOAT": "float8", "NUMERIC": "numeric", "DATE": "date",
                 "TIME WITHOUT TIME ZONE": "time", "TIMESTAMP WITHOUT TIME ZONE": "timestamp",
                 "TIMESTAMP WITH TIME ZONE": "timestamptz", "BYTEA": "bytea"}


@functools.cache
def _copy_statement(table: Table, columns: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """The binary COPY of `columns` into `table`, and the form each column's values are written in."""
    dialect = postgresql.dialect()
    forms = []
    for name in columns:
        declared = table.c[name].type.compile(dialect=dialect)
        kind, _, size = declared.partition("(")
        if kind not in _BINARY_FORMS:
            raise TypeError(f"{table.name}.{name}: no binary COPY form for {declared}")
        # FLOAT(p) is a real up to 24 bits of precision, a double precision above
        forms.append("float4" if kind == "FLOAT" and size and int(size.rstrip(")")) <= 24 else _BINARY_FORMS[kind])
    names = ", ".join(f'"{name}"' for name in columns)
    return f'COPY "{table.name}" ({names}) FROM STDIN (FORMAT BINARY)', tuple(forms)


def _copy_rows(session: Session, table: Table, columns: tuple[str, ...], rows: Sequence[dict]) -> None:
    """`rows` into `table` with a binary COPY, on the session's own connection and transaction, each value in the
    binary form of its column's type (`_copy_statement`). The text COPY had psycopg write an instant with `str()`,
    1.2 µs a value (a naive time 0.9, a date 0.4), and PostgreSQL parse it; in binary each costs under 0.05 µs and
    no parse: a punch's row 6-8 µs of Python before, 2 after, a scoring day's 10-12 before, 3 after. The values
    are what a parameter of the column's type takes (a `datetime` for an instant, aware for `timezone=True` and
    naive otherwise, a `date`, a `Decimal` or an int for a numeric): a string where those are due is refused, where
    the text form let PostgreSQL parse it. A JSON column's value is encoded as `json_to_recordset` would have
    received it (the same text), its None SQL's NULL."""
    statement, forms = _copy_statement(table, columns)
    encoded = [n for n, name in enumerate(columns) if isinstance(table.c[name].type, JSON)]
    values = operator.itemgetter(*columns) if len(columns) > 1 else (lambda row: (row[columns[0]],))
    connection = session.connection().connection.driver_connection
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types(forms)
        write = copy.write_row
        if not encoded:
            for row in rows:
                write(values(row))
            return
        for row in rows:
            row = list(values(row))
            for n in encoded:
                if row[n] is not None:
                    row[n] = jsoncodec.dumps(row[n])
            write(row)


def insert_rows(session: Session, table: Table, rows: Sequence[dict], ignore_conflicts: bool = False,
                returning: tuple[str, ...] = ()) -> list:
    """Insert `rows` (all with the same keys) in one statement, in order; with `ignore_conflicts` a row that
    violates a unique constraint is skipped. Returns the rows inserted, with the `returning` columns.

    On PostgreSQL a plain insert is a binary `COPY ... FROM STDIN` in the caller's transaction (`_copy_rows`: rows
    formatted by psycopg in C, read by PostgreSQL without parsing); one that skips conflicts or returns rows
    travels as one JSON parameter (`json_to_recordset`, encoded and decoded in C): one short statement however
    many rows, where a multi-row VALUES list of thousands of placeholders costs more to build and parse than the
    insert itself.
    Either way a JSON column's None is SQL's NULL. Elsewhere (SQLite) it is an executemany of the dialect's INSERT.
    """
    if not rows:
        return []
    if session.bind.dialect.name == "postgresql":
        columns = tuple(rows[0])
        if not ignore_conflicts and not returning:
            _copy_rows(session, table, columns, rows)
            return []
        result = session.execute(_recordset_sql(table, columns, ignore_conflicts, tuple(returning)),
                                 {"rows": jsoncodec.dumps(list(rows))})
        return result.all() if returning else []
    statement = insert_for(session, table)
    if ignore_conflicts:
        statement = statement.on_conflict_do_nothing()
    if returning:
        return session.execute(statement.returning(*(table.c[c] for c in returning)), list(rows)).all()
    session.execute(statement, list(rows))
    return []


def ping(engine: Engine) -> None:
    """Raise if the database does not answer."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in `url` if it does not exist (no-op for SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        admin.dispose()
