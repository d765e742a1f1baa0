"""The identity service's tables: accounts, activation codes, refresh tokens and the audit log.

Codes and refresh tokens are stored only as SHA-256 digests: a copy of the database signs nobody in.
"""
from sqlalchemy import JSON, BigInteger, Boolean, Column, DateTime, Index, Integer, MetaData, String, Table

from runtime.audit_chain import AuditStream, chain_columns
from runtime.messaging import add_messaging_tables
from runtime.revocation import add_revoked_sessions_table

metadata = MetaData()

accounts = Table(
    "accounts", metadata,
    Column("nip", String(18), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("unit_id", String(64), nullable=False, index=True),
    Column("roles", JSON, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("password_hash", String(200), nullable=True),
    Column("password_set_at", DateTime(timezone=True), nullable=True),
    Column("failed_attempts", Integer, nullable=False, default=0),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

activation_codes = Table(
    "activation_codes", metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("nip", String(18), nullable=False, index=True),
    Column("issued_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
)

refresh_tokens = Table(
    "refresh_tokens", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("family_id", String(32), nullable=False, index=True),
    Column("nip", String(18), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

# The sign-in audit: append-only (the service's role may only insert and read it; PostgreSQL refuses an update
# or a delete by trigger) and hash-chained (runtime.audit_chain).
audit_log = Table(
    "audit_log", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("event", String(40), nullable=False),
    Column("nip", String(18), nullable=True),
    Column("actor", String(200), nullable=True),
    Column("remote_addr", String(64), nullable=True),
    Column("detail", JSON, nullable=False),
    Index("ix_audit_log_nip_at", "nip", "at"),
    *chain_columns(),
)

AUDIT_STREAMS = (AuditStream("identity.audit_log", audit_log, ("at", "event", "nip", "actor", "remote_addr", "detail")),)

add_messaging_tables(metadata)
add_revoked_sessions_table(metadata)
