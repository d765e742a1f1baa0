"""Sessions revoked before their access tokens expire: one projection in every service, one check.

The identity service publishes `identity.session.revoked` (its outbox) when a sign-in ends early: sign-out,
a refresh token presented twice, an admin's password reset, an employee made inactive. Every service keeps
the revoked session ids in its own `revoked_sessions` table (`add_revoked_sessions_table(metadata)` in its
`tables.py`); its consumer applies the event (`runtime.service` adds the handler to every service that has
the table), and `runtime.auth.authenticate` refuses a token whose `sid` is listed there. A row is needed
only until `expires_at`, when every access token of the session has expired anyway; rows older than a day
past it are removed as new ones arrive.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import Column, DateTime, MetaData, PrimaryKeyConstraint, String, Table, select
from sqlalchemy.orm import Session

from runtime.db import insert_for

TABLE = "revoked_sessions"
KEEP_AFTER_EXPIRY = timedelta(days=1)


def add_revoked_sessions_table(metadata: MetaData) -> Table:
    """Add the `revoked_sessions` projection (session id -> when its last access token expires)."""
    return Table(
        TABLE, metadata,
        Column("sid", String(64), primary_key=True),
        Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    )


def create_revoked_sessions_table(op) -> None:
    """The migration step that adds the table (every service's `revoked_sessions` migration calls it)."""
    op.create_table(TABLE,
                    Column("sid", String(length=64), nullable=False),
                    Column("expires_at", DateTime(timezone=True), nullable=False),
                    PrimaryKeyConstraint("sid"))
    op.create_index(op.f(f"ix_{TABLE}_expires_at"), TABLE, ["expires_at"], unique=False)


def drop_revoked_sessions_table(op) -> None:
    """The migration step that removes it again."""
    op.drop_index(op.f(f"ix_{TABLE}_expires_at"), table_name=TABLE)
    op.drop_table(TABLE)


def _table(session: Session) -> Table | None:
    metadata = session.info.get("metadata")
    return None if metadata is None else metadata.tables.get(TABLE)


def apply_session_revoked(session: Session, data: dict) -> None:
    """Record a revoked session (a repeat changes nothing) and forget those long expired."""
    table = _table(session)
    expires_at = datetime.fromisoformat(data["expires_at"]) if isinstance(data["expires_at"], str) \
        else data["expires_at"]
    session.execute(insert_for(session, table).on_conflict_do_nothing().values(sid=data["sid"], expires_at=expires_at))
    session.execute(table.delete().where(table.c.expires_at < datetime.now(timezone.utc) - KEEP_AFTER_EXPIRY))


def is_revoked(session: Session, sid: str) -> bool:
    """Whether session `sid` was revoked (False in a service that keeps no revocations)."""
    table = _table(session)
    if table is None:
        return False
    return session.execute(select(table.c.sid).where(table.c.sid == sid)).first() is not None


HANDLERS = {"identity.session.revoked": lambda session, event: apply_session_revoked(session, event.data)}
