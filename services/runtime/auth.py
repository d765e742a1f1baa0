"""Authentication by JWT bearer tokens carrying the caller's employee id and roles; one check for all."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import jwt
from flask import current_app, g, request

from runtime.problems import Problem

ROLES = frozenset({"staff", "supervisor", "verifier", "finance", "admin", "ops"})


@dataclass(frozen=True)
class Principal:
    """Who is calling: an employee id (NIP) and their roles."""

    subject: str
    roles: frozenset[str]

    def has(self, *roles: str) -> bool:
        """Whether the caller holds any of `roles`."""
        return bool(self.roles.intersection(roles))


def mint_token(secret: str, issuer: str, subject: str, roles, ttl: timedelta = timedelta(hours=8)) -> str:
    """Sign a token for `subject` with `roles` (for local use and tests)."""
    unknown = set(roles) - ROLES
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")
    now = datetime.now(timezone.utc)
    return jwt.encode({"sub": subject, "roles": sorted(roles), "iss": issuer, "iat": now, "exp": now + ttl},
                      secret, algorithm="HS256")


def decode_token(token: str, secret: str, issuer: str) -> Principal:
    """Verify a token and return its principal; raise Problem 401 when it is not acceptable."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], issuer=issuer, options={"require": ["sub", "exp"]})
    except jwt.PyJWTError as exc:
        raise Problem(401, "Invalid token", str(exc)) from None
    roles = claims.get("roles") or []
    if not isinstance(roles, list):
        raise Problem(401, "Invalid token", "roles must be a list")
    return Principal(subject=str(claims["sub"]), roles=frozenset(roles) & ROLES)


def authenticate() -> Principal:
    """The principal of the current request (401 without a valid bearer token)."""
    if "principal" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Problem(401, "Authentication required", "send an Authorization: Bearer <token> header")
        settings = current_app.config["SETTINGS"]
        g.principal = decode_token(token.strip(), settings.jwt_secret, settings.jwt_issuer)
    return g.principal


def require(*roles: str):
    """Decorator: the caller must be authenticated and hold one of `roles` (any role when none given)."""
    def wrap(view):
        @functools.wraps(view)
        def inner(*args, **kwargs):
            principal = authenticate()
            if roles and not principal.has(*roles):
                raise Problem(403, "Forbidden", f"this needs one of the roles: {', '.join(roles)}")
            return view(*args, **kwargs)
        inner._required_roles = roles
        return inner
    return wrap
