"""The tamper-evident audit trail: every audit record is chained to the previous one by a SHA-256 hash.

One stream per audit table (`<service>.<table>`), one chain per stream. A record's `hash` is SHA-256 over the
canonical JSON (sorted keys, no spaces, UTF-8) of `{"stream", "seq", "prev_hash", "record"}`, where `record`
holds the stream's explicit field list with every instant in UTC ISO form (microseconds); the first record's
`prev_hash` is `GENESIS`. A changed, deleted or re-ordered row breaks the chain at that row. An owner of the
database can still rewrite the whole chain after a point: the stream's head `{stream, seq, hash, at}`, signed
with the platform key and published to the compacted topic `audit.heads`, bounds that (docs/SECURITY.md).

`chain_hash` is the pure rule; `append` writes a record under a per-stream lock (PostgreSQL: a transaction
advisory lock; SQLite has one writer); `walk` finds the first broken link; `sign_head`/`read_head` sign and
check a head with the same key store and JWKS as the access tokens.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import jwt
from sqlalchemy import BigInteger, Column, Integer, String, Table, select, text
from sqlalchemy.orm import Session

GENESIS = "0" * 64
HEAD_AUDIENCE = "kinerja-audit-head"


@dataclass(frozen=True)
class AuditStream:
    """An audited table: the stream's name, the table, and the fields its hash covers (in the record).
    `check` names (`module:function`) an extra check of each record against the data it vouches for
    (payroll: an approved run's payslips still hash to the recorded content hash)."""

    name: str
    table: Table
    fields: tuple[str, ...]
    check: str | None = None

    def __post_init__(self):
        # Marks the table as an audit stream's: the migrations grant the service's role only INSERT and SELECT on it.
        self.table.info["audit_stream"] = self.name


def chain_columns() -> list[Column]:
    """The columns every audited table adds: its place in the chain, the previous hash and its own."""
    return [Column("seq", BigInteger().with_variant(Integer, "sqlite"), nullable=False, unique=True),
            Column("prev_hash", String(64), nullable=False),
            Column("hash", String(64), nullable=False)]


def canonical(value: Any) -> Any:
    """`value` reduced to JSON's types the same way whether it was just built or read back from either database:
    instants in UTC ISO with microseconds (a naive one, as SQLite returns them, is UTC), dates in ISO."""
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return moment.isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


def chain_hash(stream: str, seq: int, record: Mapping[str, Any], prev_hash: str) -> str:
    """The hash of record number `seq` of `stream` chained to `prev_hash` (hex SHA-256)."""
    document = {"stream": stream, "seq": seq, "prev_hash": prev_hash, "record": canonical(dict(record))}
    encoded = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def _utc(value: Any) -> Any:
    # SQLite keeps an instant's wall time without its offset, so every instant is stored in UTC.
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def stream_lock_key(stream: str) -> int:
    """The PostgreSQL advisory lock id of a stream (a signed 64-bit integer from its name)."""
    return int.from_bytes(hashlib.sha256(stream.encode()).digest()[:8], "big", signed=True)


def lock_stream(session: Session, stream: str) -> None:
    """Serialise appends to `stream` until the transaction ends (PostgreSQL; SQLite has a single writer)."""
    if session.bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": stream_lock_key(stream)})


def head(session: Session, stream: AuditStream) -> tuple[int, str]:
    """(seq, hash) of the stream's last record; (0, GENESIS) when it has none."""
    c = stream.table.c
    row = session.execute(select(c.seq, c.hash).order_by(c.seq.desc()).limit(1)).first()
    return (row.seq, row.hash) if row else (0, GENESIS)


def append(session: Session, stream: AuditStream, record: Mapping[str, Any]) -> dict:
    """Append `record` (the stream's fields, plus any other columns) to the chain inside the caller's
    transaction; returns the row written."""
    lock_stream(session, stream.name)
    seq, prev_hash = head(session, stream)
    row = {key: _utc(value) for key, value in record.items()}
    covered = {name: row.get(name) for name in stream.fields}
    row.update(seq=seq + 1, prev_hash=prev_hash, hash=chain_hash(stream.name, seq + 1, covered, prev_hash))
    session.execute(stream.table.insert().values(**row))
    return row


def backfill(connection, stream: AuditStream, order_by: str = "id") -> int:
    """Chain the rows already in the table (a migration adding the chain), in `order_by` order; returns how many."""
    c = stream.table.c
    rows = connection.execute(select(stream.table).order_by(c[order_by])).mappings().all()
    prev_hash = GENESIS
    for seq, row in enumerate(rows, 1):
        digest = chain_hash(stream.name, seq, {name: row[name] for name in stream.fields}, prev_hash)
        connection.execute(stream.table.update().where(c[order_by] == row[order_by])
                           .values(seq=seq, prev_hash=prev_hash, hash=digest))
        prev_hash = digest
    return len(rows)


@dataclass(frozen=True)
class Break:
    """The first broken link of a stream: where (`seq`, the row's `id` when it has one), what kind
    (`row changed`, `row deleted`, `link broken`, `rows truncated after the signed head`, `chain rewritten`,
    `signature bad`, `content changed`) and what differs."""

    stream: str
    kind: str
    seq: int | None
    detail: str
    row_id: Any = None

    def __str__(self) -> str:
        where = f" seq {self.seq}" if self.seq is not None else ""
        where += f" (id {self.row_id})" if self.row_id is not None else ""
        return f"{self.stream}:{where} {self.kind}: {self.detail}"


def walk(stream_name: str, fields: Iterable[str], rows: Iterable[Mapping[str, Any]]) -> tuple[Break | None, int, str]:
    """Walk `rows` (ordered by seq) recomputing each hash; returns (first break or None, last seq, last hash)."""
    fields = tuple(fields)
    expected_seq, prev_hash = 1, GENESIS
    for row in rows:
        row_id = row.get("id")
        if row["seq"] != expected_seq:
            missing = f"{expected_seq}" if row["seq"] == expected_seq + 1 else f"{expected_seq}..{row['seq'] - 1}"
            return Break(stream_name, "row deleted", expected_seq, f"seq {missing} missing before seq {row['seq']}",
                         row_id), expected_seq - 1, prev_hash
        if row["prev_hash"] != prev_hash:
            return Break(stream_name, "link broken", row["seq"],
                         f"prev_hash {row['prev_hash'][:12]}… but the previous record hashes to {prev_hash[:12]}…",
                         row_id), expected_seq - 1, prev_hash
        digest = chain_hash(stream_name, row["seq"], {name: row[name] for name in fields}, prev_hash)
        if digest != row["hash"]:
            return Break(stream_name, "row changed", row["seq"],
                         f"its fields hash to {digest[:12]}… but the row says {row['hash'][:12]}…", row_id), \
                expected_seq - 1, prev_hash
        expected_seq, prev_hash = expected_seq + 1, digest
    return None, expected_seq - 1, prev_hash


def sign_head(key, issuer: str, stream: str, seq: int, digest: str, at: datetime) -> str:
    """The head `{stream, seq, hash, at}` as a compact JWS (RS256, `kid` header) signed with the platform key."""
    claims = {"iss": issuer, "aud": HEAD_AUDIENCE, "stream": stream, "seq": seq, "hash": digest,
              "at": canonical(at), "iat": int(at.timestamp())}
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})


class BadSignature(ValueError):
    """A signed head that no published key verifies, or whose claims disagree with the head it came with."""


def read_head(signature: str, jwks: dict) -> dict:
    """The claims of a signed head verified against the JWKS `jwks`; BadSignature when it does not verify."""
    try:
        kid = jwt.get_unverified_header(signature).get("kid")
        keys = {k["kid"]: k for k in jwks.get("keys", []) if k.get("kid")}
        if kid not in keys:
            raise BadSignature(f"signed by key {kid!r}, which the JWKS does not publish")
        public = jwt.PyJWK(keys[kid]).key
        return jwt.decode(signature, public, algorithms=["RS256"], audience=HEAD_AUDIENCE,
                          options={"require": ["stream", "seq", "hash", "at"], "verify_iat": False})
    except jwt.PyJWTError as exc:
        raise BadSignature(f"the signature does not verify: {exc}") from None


def check_against_head(stream: str, claims: dict, hashes: Mapping[int, str], last_seq: int) -> Break | None:
    """The break, if any, between the table's chain (`hashes`: seq -> hash as recomputed) and a verified head."""
    seq, digest = int(claims["seq"]), claims["hash"]
    if seq > last_seq:
        return Break(stream, "rows truncated after the signed head", last_seq + 1,
                     f"the head signed at {claims['at']} is seq {seq}; the table's chain ends at seq {last_seq}")
    if hashes.get(seq) != digest:
        return Break(stream, "chain rewritten", seq,
                     f"the head signed at {claims['at']} says seq {seq} hashes to {digest[:12]}…, "
                     f"the table's chain gives {(hashes.get(seq) or '-')[:12]}…")
    return None


# --- migrations ------------------------------------------------------------------------------------------

def chain_existing_rows(op, stream: str, table_name: str, fields: tuple[str, ...], trigger: str | None = None) -> None:
    """A migration adding the chain to an audit table that already has rows: add the columns, chain the rows in
    `id` order from GENESIS, then make the columns required and `seq` unique. A PostgreSQL append-only
    `trigger` already on the table is disabled for the backfill (the migration runs as the owner) and enabled
    again in the same transaction."""
    from sqlalchemy import MetaData
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    with op.batch_alter_table(table_name) as batch:
        batch.add_column(Column("seq", BigInteger().with_variant(Integer, "sqlite"), nullable=True))
        batch.add_column(Column("prev_hash", String(64), nullable=True))
        batch.add_column(Column("hash", String(64), nullable=True))
    if postgres and trigger:
        op.execute(f'ALTER TABLE "{table_name}" DISABLE TRIGGER {trigger}')
    backfill(bind, AuditStream(stream, Table(table_name, MetaData(), autoload_with=bind), fields))
    if postgres and trigger:
        op.execute(f'ALTER TABLE "{table_name}" ENABLE TRIGGER {trigger}')
    with op.batch_alter_table(table_name) as batch:
        for name in ("seq", "prev_hash", "hash"):
            batch.alter_column(name, nullable=False)
        batch.create_unique_constraint(f"uq_{table_name}_seq", ["seq"])


def create_append_only_trigger(op, table_name: str) -> None:
    """PostgreSQL: refuse UPDATE and DELETE on `table_name` by a row trigger (TRUNCATE and disabling the trigger
    are refused by privileges: the service's role is not the owner and has no TRUNCATE)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"CREATE OR REPLACE FUNCTION {table_name}_append_only() RETURNS trigger LANGUAGE plpgsql AS "
               f"$$ BEGIN RAISE EXCEPTION 'the audit trail {table_name} is append-only'; END $$")
    op.execute(f'CREATE TRIGGER {table_name}_append_only BEFORE UPDATE OR DELETE ON "{table_name}" '
               f"FOR EACH ROW EXECUTE FUNCTION {table_name}_append_only()")


def drop_append_only_trigger(op, table_name: str) -> None:
    """Undo `create_append_only_trigger`."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f'DROP TRIGGER IF EXISTS {table_name}_append_only ON "{table_name}"')
    op.execute(f"DROP FUNCTION IF EXISTS {table_name}_append_only()")


def unchain(op, table_name: str) -> None:
    """Undo `chain_existing_rows`."""
    with op.batch_alter_table(table_name) as batch:
        batch.drop_constraint(f"uq_{table_name}_seq", type_="unique")
        for name in ("hash", "prev_hash", "seq"):
            batch.drop_column(name)


# --- signed heads ----------------------------------------------------------------------------------------

def streams_of(service_name: str) -> tuple[AuditStream, ...]:
    """The audit streams a service declares (`AUDIT_STREAMS` in its tables module); none for most."""
    from runtime.service import service
    return tuple(getattr(service(service_name).module("tables"), "AUDIT_STREAMS", ()))


def publish_head(session: Session, stream: AuditStream, key, issuer: str, producer: str,
                 at: datetime | None = None) -> dict:
    """Sign the stream's current head and write it to the outbox (topic `audit.heads`, keyed by stream) in the
    caller's transaction; returns the head published."""
    from runtime.events import make_event
    from runtime.messaging import publish
    at = at or datetime.now(UTC)
    seq, digest = head(session, stream)
    signed = {"stream": stream.name, "seq": seq, "hash": digest, "at": at,
              "signature": sign_head(key, issuer, stream.name, seq, digest, at)}
    publish(session, make_event("audit.head.signed", stream.name, signed, producer))
    return signed


def publish_heads(sessions, service_name: str, settings, published: dict | None = None) -> list[dict]:
    """Sign and publish the head of each of the service's streams that moved since `published` (stream ->
    (seq, hash) of the last publication, updated in place); every head when `published` is None."""
    from runtime.keys import KeyStore
    streams = streams_of(service_name)
    if not streams:
        return []
    key = KeyStore(settings.signing_keys_dir).signing_key()
    done, moved = [], {}
    with sessions() as session:
        for stream in streams:
            current = head(session, stream)
            if published is not None and published.get(stream.name) == current:
                continue
            done.append(publish_head(session, stream, key, settings.jwt_issuer, service_name))
            moved[stream.name] = current
        session.commit()
    if published is not None:
        published.update(moved)
    return done
