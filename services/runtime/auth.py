"""Authentication by signed bearer tokens carrying the caller's employee id (NIP) and roles; one check for all.

A token is accepted when it is signed by a trusted issuer's published key (the platform's own identity
service, or an external OpenID provider configured in OIDC_ISSUERS), names that issuer and the platform's
audience, and has not expired. Keys come from each issuer's JWKS, fetched and cached by PyJWKClient.
HS256 tokens signed with a shared secret are accepted only when JWT_DEV_SECRET is set, for development.
A token of a revoked session (its `sid` in the service's `revoked_sessions`, see `runtime.revocation`) is
refused before it expires; an external issuer configured with an `introspection_endpoint` is asked
(RFC 7662, answers cached briefly) whether its token is still active.
"""
from __future__ import annotations

import functools
import hashlib
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import jwt
import requests
from flask import current_app, g, request

from runtime.config import MIN_DEV_SECRET_LENGTH
from runtime.problems import Problem

ROLES = frozenset({"staff", "supervisor", "verifier", "finance", "admin", "ops"})
ACCESS_TOKEN_TTL = timedelta(minutes=15)
CLOCK_SKEW_SECONDS = 10


@dataclass(frozen=True)
class Principal:
    """Who is calling: an employee id (NIP) and their roles."""

    subject: str
    roles: frozenset[str]
    issuer: str = ""
    session_id: str | None = None  # the `sid` claim: the sign-in the token belongs to

    def has(self, *roles: str) -> bool:
        """Whether the caller holds any of `roles`."""
        return bool(self.roles.intersection(roles))


def _claims(issuer: str, audience: str, subject: str, roles, ttl: timedelta, session_id: str | None = None) -> dict:
    unknown = set(roles) - ROLES
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")
    now = datetime.now(timezone.utc)
    return {"iss": issuer, "aud": audience, "sub": subject, "roles": sorted(roles), "iat": now, "exp": now + ttl,
            "jti": uuid.uuid4().hex} | ({"sid": session_id} if session_id else {})


def mint_token(key, issuer: str, subject: str, roles, ttl: timedelta = ACCESS_TOKEN_TTL,
               audience: str = "kinerja", session_id: str | None = None) -> str:
    """An RS256 access token for `subject` with `roles`, signed by `key` (a runtime.keys.SigningKey); with
    `session_id` (claim `sid`) it is refused everywhere once that session is revoked."""
    return jwt.encode(_claims(issuer, audience, subject, roles, ttl, session_id), key.private_key,
                      algorithm="RS256", headers={"kid": key.kid})


def platform_minter(ttl: timedelta):
    """(nip, roles) -> a token the local platform accepts, signed with the platform key pair of the data
    directory (as `kinerja token` signs): for scripts, the demo and the portal's development sign-in."""
    from runtime.config import Settings
    from runtime.keys import KeyStore
    settings = Settings.from_env("identity")
    keys = KeyStore(settings.signing_keys_dir)
    return lambda nip, roles: mint_token(keys.signing_key(), settings.jwt_issuer, nip, roles, ttl, settings.jwt_audience)


def mint_dev_token(secret: str, issuer: str, subject: str, roles, ttl: timedelta = ACCESS_TOKEN_TTL,
                   audience: str = "kinerja") -> str:
    """An HS256 development token; only a platform started with the same JWT_DEV_SECRET accepts it."""
    return jwt.encode(_claims(issuer, audience, subject, roles, ttl), secret, algorithm="HS256")


@dataclass(frozen=True)
class TrustedIssuer:
    """An issuer whose tokens the services accept, and where its token carries the NIP and the roles.

    `subject_claim` and `roles_claim` are dotted paths into the claims (e.g. `realm_access.roles` for
    Keycloak's realm roles); `role_map` renames the issuer's roles to the platform's (unmapped names are
    kept as they are); roles that are not platform roles are ignored. Without `jwks_uri` the key set's
    address is read from the issuer's OpenID discovery document.
    """

    issuer: str
    audience: str = "kinerja"
    jwks_uri: str | None = None
    subject_claim: str = "sub"
    roles_claim: str = "roles"
    role_map: dict = field(default_factory=dict)
    algorithms: tuple = ("RS256",)
    introspection_endpoint: str | None = None
    introspection_client_id: str | None = None
    introspection_client_secret: str | None = None
    introspection_cache_seconds: float = 30

    @classmethod
    def from_config(cls, entry: dict) -> "TrustedIssuer":
        """One OIDC_ISSUERS entry; ValueError naming what is wrong."""
        allowed = {"issuer", "audience", "jwks_uri", "subject_claim", "roles_claim", "role_map", "algorithms",
                   "introspection_endpoint", "introspection_client_id", "introspection_client_secret",
                   "introspection_cache_seconds"}
        if not isinstance(entry, dict) or not entry.get("issuer") or set(entry) - allowed:
            raise ValueError(f"OIDC_ISSUERS entries need `issuer` and may have only {sorted(allowed)}: {entry!r}")
        if entry.get("introspection_endpoint") and not entry.get("introspection_client_id"):
            raise ValueError("OIDC_ISSUERS: introspection_endpoint needs introspection_client_id (and "
                             "introspection_client_secret for a confidential client)")
        algorithms = tuple(entry.get("algorithms", ("RS256",)))
        if not set(algorithms) <= {"RS256", "RS384", "RS512", "PS256", "ES256", "ES384"}:
            raise ValueError(f"OIDC_ISSUERS: only asymmetric algorithms are trusted, not {algorithms}")
        return cls(**{**entry, "algorithms": algorithms})


def _claim(claims: dict, path: str):
    value = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class Verifier:
    """Checks bearer tokens against the trusted issuers (and the development secret when one is set)."""

    def __init__(self, issuers: list[TrustedIssuer], dev_secret: str | None = None, jwks_lifespan: float = 300,
                 jwks_cooldown: float = 30):
        if dev_secret is not None and len(dev_secret) < MIN_DEV_SECRET_LENGTH:
            raise ValueError(f"JWT_DEV_SECRET must be at least {MIN_DEV_SECRET_LENGTH} characters")
        self.issuers = {i.issuer: i for i in issuers}
        self.platform = issuers[0]
        self.dev_secret = dev_secret
        self.jwks_lifespan, self.jwks_cooldown = jwks_lifespan, jwks_cooldown
        self._clients: dict[str, jwt.PyJWKClient] = {}
        self._introspected: dict[str, tuple[bool, float]] = {}  # token digest -> (active, good until)
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings) -> "Verifier":
        """The verifier a service runs with: its own platform issuer first, then the external ones."""
        platform = TrustedIssuer(settings.jwt_issuer, settings.jwt_audience, settings.jwks_url)
        external = [TrustedIssuer.from_config(entry) for entry in settings.oidc_issuers]
        return cls([platform, *external], settings.jwt_dev_secret, settings.jwks_cache_seconds,
                   min(30.0, settings.jwks_cache_seconds))

    def _client(self, issuer: TrustedIssuer) -> jwt.PyJWKClient:
        with self._lock:
            if issuer.issuer not in self._clients:
                uri = issuer.jwks_uri
                if not uri:
                    discovery = f"{issuer.issuer.rstrip('/')}/.well-known/openid-configuration"
                    try:
                        response = requests.get(discovery, timeout=10)
                        response.raise_for_status()
                        uri = response.json()["jwks_uri"]
                    except (requests.RequestException, ValueError, KeyError) as exc:
                        raise Problem(503, "Cannot verify the token now",
                                      f"the issuer's discovery document is unavailable: {exc.__class__.__name__}") from None
                self._clients[issuer.issuer] = jwt.PyJWKClient(uri, lifespan=self.jwks_lifespan,
                                                               cooldown_duration=self.jwks_cooldown, timeout=10)
            return self._clients[issuer.issuer]

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; Problem 401 when it is not acceptable (503 when keys are unreachable)."""
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise Problem(401, "Invalid token", str(exc)) from None
        algorithm = header.get("alg")
        if algorithm == "HS256":
            if self.dev_secret is None:
                raise Problem(401, "Invalid token", "HS256 development tokens are not accepted by this platform")
            issuer, key, algorithms = self.platform, self.dev_secret, ["HS256"]
        else:
            issuer = self.issuers.get(unverified.get("iss"))
            if issuer is None:
                raise Problem(401, "Invalid token", "the token's issuer is not trusted")
            if algorithm not in issuer.algorithms:
                raise Problem(401, "Invalid token", f"the algorithm {algorithm!r} is not accepted")
            try:
                key = self._client(issuer).get_signing_key_from_jwt(token).key
            except jwt.PyJWKClientConnectionError as exc:
                raise Problem(503, "Cannot verify the token now", f"the issuer's keys are unavailable: {exc}") from None
            except jwt.PyJWTError as exc:
                raise Problem(401, "Invalid token", str(exc)) from None
            algorithms = list(issuer.algorithms)
        try:
            claims = jwt.decode(token, key, algorithms=algorithms, issuer=issuer.issuer, audience=issuer.audience,
                                leeway=CLOCK_SKEW_SECONDS, options={"require": ["iss", "aud", "exp", "iat"]})
        except jwt.PyJWTError as exc:
            raise Problem(401, "Invalid token", str(exc)) from None
        subject = _claim(claims, issuer.subject_claim)
        if not isinstance(subject, str) or not subject:
            raise Problem(401, "Invalid token", f"the token has no {issuer.subject_claim}")
        roles = _claim(claims, issuer.roles_claim) or []
        if not isinstance(roles, list):
            raise Problem(401, "Invalid token", f"{issuer.roles_claim} must be a list")
        mapped = frozenset(issuer.role_map.get(r, r) for r in roles if isinstance(r, str)) & ROLES
        if issuer.introspection_endpoint and algorithm != "HS256":
            self._introspect(issuer, token, claims)
        sid = claims.get("sid")
        return Principal(subject=subject, roles=mapped, issuer=issuer.issuer,
                         session_id=sid if isinstance(sid, str) and sid else None)

    def _introspect(self, issuer: TrustedIssuer, token: str, claims: dict) -> None:
        """RFC 7662: ask the issuer whether the token is still active (its answer cached for
        `introspection_cache_seconds`, never past the token's expiry); Problem 401 when it is not."""
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        with self._lock:
            cached = self._introspected.get(key)
        if cached is None or cached[1] <= now:
            try:
                response = requests.post(issuer.introspection_endpoint, timeout=10,
                                         data={"token": token, "token_type_hint": "access_token"},
                                         auth=(issuer.introspection_client_id,
                                               issuer.introspection_client_secret or ""))
                response.raise_for_status()
                active = response.json().get("active") is True
            except (requests.RequestException, ValueError, AttributeError) as exc:
                raise Problem(503, "Cannot verify the token now",
                              f"the issuer's introspection is unavailable: {exc.__class__.__name__}") from None
            lifetime = min(issuer.introspection_cache_seconds, max(0.0, claims["exp"] - time.time()))
            cached = (active, now + lifetime)
            with self._lock:
                if len(self._introspected) > 10000:
                    self._introspected.clear()
                self._introspected[key] = cached
        if not cached[0]:
            raise Problem(401, "Invalid token", "the issuer says the token is no longer active (revoked)")


def verifier() -> Verifier:
    """The running service's verifier (built on first use; its key sets are cached across requests)."""
    found = current_app.extensions.get("kinerja.auth")
    if found is None:
        found = current_app.extensions["kinerja.auth"] = Verifier.from_settings(current_app.config["SETTINGS"])
    return found


def authenticate() -> Principal:
    """The principal of the current request (401 without a valid bearer token)."""
    if "principal" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Problem(401, "Authentication required", "send an Authorization: Bearer <token> header")
        principal = verifier().verify(token.strip())
        if principal.session_id and _revoked(principal.session_id):
            raise Problem(401, "Invalid token", "the session was signed out or revoked: sign in again")
        g.principal = principal
    return g.principal


def _revoked(session_id: str) -> bool:
    from runtime.revocation import is_revoked
    from runtime.web import db
    return is_revoked(db(), session_id)


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
