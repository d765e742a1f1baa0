"""The identity service's use cases: accounts from the roster, activation, sign-in, token refresh, sign-out,
password reset by an admin, and the audit log every one of them writes to.

A refused sign-in, refresh or activation is *returned* (a DomainError), not raised: its audit entry and
the failure count must be kept although the request fails, and the caller's transaction keeps only what
returns.

Refresh tokens are opaque random values stored as digests; each use replaces the token with a new one of
the same family. A token presented again after it was replaced means it was copied: the whole family is
revoked, so both the thief and the owner must sign in again.
"""
from __future__ import annotations

import functools
import secrets
import uuid
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from identity import tables as t
from identity.domain import accounts as rules
from runtime.audit_chain import append
from runtime.auth import ACCESS_TOKEN_TTL, CLOCK_SKEW_SECONDS, ROLES, mint_token
from runtime.db import upsert_rows
from runtime.events import make_event
from runtime.messaging import publish
from runtime.keys import KeyStore
from runtime.errors import DomainError, Forbidden, Invalid, NotFound

HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified when the NIP has no password, so a wrong NIP takes as long as a wrong password."""
    return HASHER.hash(secrets.token_hex(16))


class Unauthorised(DomainError):
    """Wrong credentials, or a code or refresh token that is unknown, spent, revoked or expired."""

    status = 401
    title = "Sign-in failed"


class Locked(DomainError):
    """Too many wrong passwords: the account refuses sign-ins until the lock runs out."""

    status = 423
    title = "Account locked"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every time here is UTC."""
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


def audit(session: Session, event: str, nip: str | None, actor: str | None = None, remote_addr: str | None = None,
          **detail) -> None:
    """Append to the audit log (in the caller's transaction)."""
    append(session, t.AUDIT_STREAMS[0], {"at": _now(), "event": event, "nip": nip, "actor": actor,
                                         "remote_addr": remote_addr, "detail": detail})


def project_employee(session: Session, data: dict) -> None:
    """Keep an account per employee of the roster: name, unit, roles and whether they may sign in."""
    roles = sorted({"staff", *data.get("roles", [])} & ROLES)
    upsert_rows(session, t.accounts, [{
        "nip": data["employee_id"], "name": data["name"], "unit_id": data["unit_id"], "roles": roles,
        "active": data.get("active", True), "updated_at": _now(),
    }], ("nip",))
    if not data.get("active", True):
        _revoke_all(session, data["employee_id"], "inactive")


def _account(session: Session, nip: str):
    return session.execute(select(t.accounts).where(t.accounts.c.nip == nip)).first()


def _found(session: Session, nip: str):
    account = _account(session, nip)
    if account is None:
        raise NotFound(f"no account for NIP {nip} (accounts come with the roster)")
    return account


def account_view(session: Session, nip: str) -> dict:
    """What an admin (or the person) may see of an account: never its hash."""
    a = _found(session, nip)
    now = _now()
    return {"nip": a.nip, "name": a.name, "unit_id": a.unit_id, "roles": a.roles, "active": a.active,
            "activated": a.password_hash is not None, "locked": rules.locked(_aware(a.locked_until), now),
            "locked_until": _aware(a.locked_until).isoformat() if rules.locked(_aware(a.locked_until), now) else None}


def issue_code(session: Session, nip: str, actor: str, policy: rules.SignInPolicy) -> dict:
    """A one-time activation code for `nip` (replacing any unused one); only its digest is kept."""
    _found(session, nip)
    now = _now()
    session.execute(t.activation_codes.delete().where(t.activation_codes.c.nip == nip,
                                                      t.activation_codes.c.used_at.is_(None)))
    code = rules.new_code()
    expires = now + timedelta(days=policy.code_days)
    session.execute(t.activation_codes.insert().values(code_hash=rules.digest(rules.normalise_code(code)), nip=nip,
                                                       issued_by=actor, created_at=now, expires_at=expires))
    audit(session, "activation_code_issued", nip, actor)
    return {"nip": nip, "code": code, "expires_at": expires.isoformat()}


def issue_unit_codes(session: Session, unit_id: str, actor: str, policy: rules.SignInPolicy) -> list[dict]:
    """Codes for every active account of a unit that has no password yet (for printing and handing out)."""
    rows = session.execute(select(t.accounts.c.nip, t.accounts.c.name).where(
        t.accounts.c.unit_id == unit_id, t.accounts.c.active.is_(True), t.accounts.c.password_hash.is_(None))
        .order_by(t.accounts.c.name)).all()
    return [{**issue_code(session, row.nip, actor, policy), "name": row.name} for row in rows]


def activate(session: Session, nip: str, code: str, password: str, remote_addr: str | None) -> DomainError | None:
    """Set the first (or a reset) password with a valid, unused, unexpired activation code (else the refusal)."""
    now = _now()
    row = session.execute(select(t.activation_codes).where(
        t.activation_codes.c.code_hash == rules.digest(rules.normalise_code(code)),
        t.activation_codes.c.nip == nip)).first()
    if row is None or row.used_at is not None or _aware(row.expires_at) <= now:
        audit(session, "activation_failed", nip, remote_addr=remote_addr)
        return Unauthorised("the code is unknown, used or expired: ask an admin for a new one",
                            title="Invalid activation code")
    problems = rules.password_problems(nip, password)
    if problems:
        raise Invalid("the password is not acceptable", [{"field": "password", "message": m} for m in problems])
    account = _found(session, nip)
    if not account.active:
        raise Forbidden("this account is not active")
    session.execute(t.activation_codes.update().where(t.activation_codes.c.code_hash == row.code_hash)
                    .values(used_at=now))
    session.execute(t.accounts.update().where(t.accounts.c.nip == nip).values(
        password_hash=HASHER.hash(password), password_set_at=now, failed_attempts=0, locked_until=None))
    audit(session, "activated", nip, remote_addr=remote_addr)
    return None


def _issue_tokens(session: Session, account, keys: KeyStore, settings, policy: rules.SignInPolicy,
                  family: str | None = None) -> dict:
    now = _now()
    family = family or uuid.uuid4().hex  # the session: every access token of it carries it as `sid`
    refresh = secrets.token_urlsafe(32)
    session.execute(t.refresh_tokens.insert().values(
        token_hash=rules.digest(refresh), family_id=family, nip=account.nip, created_at=now,
        expires_at=now + timedelta(days=policy.refresh_days)))
    ttl = timedelta(minutes=policy.access_minutes)
    access = mint_token(keys.signing_key(), settings.jwt_issuer, account.nip, account.roles, ttl,
                        settings.jwt_audience, session_id=family)
    return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
            "expires_in": int(ttl.total_seconds())}


def sign_in(session: Session, nip: str, password: str, keys: KeyStore, settings, policy: rules.SignInPolicy,
            remote_addr: str | None) -> dict | DomainError:
    """Tokens for a right password; else the refusal: Unauthorised (counted), Locked while locked."""
    now = _now()
    account = _account(session, nip)
    if account is None or account.password_hash is None or not account.active:
        try:
            HASHER.verify(_dummy_hash(), password)
        except VerificationError:
            pass
        audit(session, "sign_in_failed", nip, remote_addr=remote_addr,
              reason="no account" if account is None else ("not activated" if account.active else "inactive"))
        return Unauthorised("wrong NIP or password")
    if rules.locked(_aware(account.locked_until), now):
        audit(session, "sign_in_refused_locked", nip, remote_addr=remote_addr)
        return Locked("too many wrong passwords: try again later or ask an admin",
                      retry_after=int((_aware(account.locked_until) - now).total_seconds()) + 1)
    try:
        HASHER.verify(account.password_hash, password)
    except (VerificationError, InvalidHashError):
        failures, lock = rules.after_failure(account.failed_attempts, policy, now)
        session.execute(t.accounts.update().where(t.accounts.c.nip == nip)
                        .values(failed_attempts=failures, locked_until=lock))
        audit(session, "sign_in_failed", nip, remote_addr=remote_addr, reason="wrong password")
        if lock is not None:
            audit(session, "locked", nip, remote_addr=remote_addr, until=lock.isoformat())
        return Unauthorised("wrong NIP or password")
    values = {"failed_attempts": 0, "locked_until": None}
    if HASHER.check_needs_rehash(account.password_hash):
        values["password_hash"] = HASHER.hash(password)
    session.execute(t.accounts.update().where(t.accounts.c.nip == nip).values(**values))
    audit(session, "sign_in", nip, remote_addr=remote_addr)
    return _issue_tokens(session, account, keys, settings, policy)


def _revoke_family(session: Session, family: str, nip: str, reason: str) -> None:
    _revoke(session, t.refresh_tokens.c.family_id == family, reason, always=(family, nip))


def _revoke_all(session: Session, nip: str, reason: str) -> None:
    _revoke(session, t.refresh_tokens.c.nip == nip, reason)


def _revoke(session: Session, which, reason: str, always: tuple[str, str] | None = None) -> None:
    """Revoke the refresh tokens `which` selects and publish `identity.session.revoked` for each session
    they belong to, so every service refuses its access tokens until the last of them expires."""
    now = _now()
    r = t.refresh_tokens.c
    sessions = dict(session.execute(select(r.family_id, r.nip).where(which, r.revoked_at.is_(None)).distinct()).all())
    if always:
        sessions.setdefault(*always)
    session.execute(update(t.refresh_tokens).where(which, r.revoked_at.is_(None)).values(revoked_at=now))
    expires_at = now + ACCESS_TOKEN_TTL + timedelta(seconds=CLOCK_SKEW_SECONDS)
    publish(session, *(make_event("identity.session.revoked", family, {
        "sid": family, "employee_id": nip, "reason": reason, "revoked_at": now.isoformat(),
        "expires_at": expires_at.isoformat()}, "identity") for family, nip in sorted(sessions.items())))


def refresh(session: Session, token: str, keys: KeyStore, settings, policy: rules.SignInPolicy,
            remote_addr: str | None) -> dict | DomainError:
    """New tokens for a current refresh token, which is spent; a spent one presented again revokes its family."""
    now = _now()
    row = session.execute(select(t.refresh_tokens).where(t.refresh_tokens.c.token_hash == rules.digest(token))).first()
    refused = Unauthorised("sign in again", title="Invalid refresh token")
    if row is None or row.revoked_at is not None or _aware(row.expires_at) <= now:
        return refused
    if row.used_at is not None:
        _revoke_family(session, row.family_id, row.nip, "refresh_reuse_detected")
        audit(session, "refresh_reuse_detected", row.nip, remote_addr=remote_addr, family=row.family_id)
        return refused
    account = _account(session, row.nip)
    if account is None or not account.active or account.password_hash is None:
        return refused
    spent = session.execute(update(t.refresh_tokens).where(t.refresh_tokens.c.token_hash == row.token_hash,
                                                           t.refresh_tokens.c.used_at.is_(None)).values(used_at=now))
    if spent.rowcount != 1:  # spent meanwhile by a concurrent refresh
        return refused
    return _issue_tokens(session, account, keys, settings, policy, family=row.family_id)


def sign_out(session: Session, token: str, remote_addr: str | None) -> None:
    """Revoke the refresh token's family (a token that is unknown changes nothing)."""
    row = session.execute(select(t.refresh_tokens).where(t.refresh_tokens.c.token_hash == rules.digest(token))).first()
    if row is not None:
        _revoke_family(session, row.family_id, row.nip, "signed_out")
        audit(session, "signed_out", row.nip, remote_addr=remote_addr)


def reset_password(session: Session, nip: str, actor: str, policy: rules.SignInPolicy) -> dict:
    """An admin's reset: the password is removed, every session ends, and a new activation code is issued."""
    _found(session, nip)
    session.execute(t.accounts.update().where(t.accounts.c.nip == nip).values(
        password_hash=None, password_set_at=None, failed_attempts=0, locked_until=None))
    _revoke_all(session, nip, "password_reset")
    audit(session, "password_reset", nip, actor)
    return issue_code(session, nip, actor, policy)


def unlock(session: Session, nip: str, actor: str) -> None:
    """An admin lifts a lock before it runs out."""
    _found(session, nip)
    session.execute(t.accounts.update().where(t.accounts.c.nip == nip).values(failed_attempts=0, locked_until=None))
    audit(session, "unlocked", nip, actor)


def audit_entries(session: Session, nip: str | None = None, limit: int = 200) -> list[dict]:
    """The latest audit entries, newest first (of one NIP when given)."""
    query = select(t.audit_log).order_by(t.audit_log.c.id.desc()).limit(limit)
    if nip:
        query = query.where(t.audit_log.c.nip == nip)
    return [{"at": _aware(r.at).isoformat(), "event": r.event, "nip": r.nip, "actor": r.actor,
             "remote_addr": r.remote_addr, "detail": r.detail} for r in session.execute(query)]
