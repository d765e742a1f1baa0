"""Configuration read from environment variables, with development defaults."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

DEFAULT_IDENTITY_URL = "http://127.0.0.1:8007"
MIN_DEV_SECRET_LENGTH = 32


def repo_root() -> Path:
    """The checkout's root (two levels above this package)."""
    return Path(__file__).resolve().parents[2]


def service_database_url(service: str, env: dict, variable: str = "DATABASE_URL") -> str:
    """The database of one service.

    `<SERVICE>_DATABASE_URL` wins; otherwise `DATABASE_URL` names a server and a base database, and each
    service gets its own database `<base>_<service>` on it (one database per service, as in production);
    with neither, an SQLite file per service under the data directory.
    """
    explicit = env.get(f"{service.upper()}_{variable}")
    if explicit:
        return explicit
    base = env.get(variable)
    if base:
        url = make_url(base)
        if url.get_backend_name() == "sqlite":
            path = Path(url.database or "kinerja.db")
            return str(url.set(database=str(path.with_name(f"{path.stem}_{service}{path.suffix or '.db'}"))))
        return url.set(database=f"{url.database or 'kinerja'}_{service}").render_as_string(hide_password=False)
    data_dir = Path(env.get("KINERJA_DATA_DIR", repo_root() / ".cache" / "data"))
    return f"sqlite:///{data_dir / (service + '.db')}"


def service_migration_url(service: str, env: dict) -> str:
    """Where the service's migrations run, as the role that owns its tables: `<SERVICE>_MIGRATION_DATABASE_URL`,
    else `MIGRATION_DATABASE_URL` (a server and base database, as `DATABASE_URL`), else the service's own
    database URL (one role for both: then the service owns its tables and the audit trail is only as safe as
    the hash chain and its signed heads make it; see docs/SECURITY.md)."""
    if env.get(f"{service.upper()}_MIGRATION_DATABASE_URL") or env.get("MIGRATION_DATABASE_URL"):
        return service_database_url(service, env, "MIGRATION_DATABASE_URL")
    return service_database_url(service, env)


def service_role(database_url: str, migration_url: str, env: dict) -> str | None:
    """The PostgreSQL role the service runs as, which the migrations grant to: `DATABASE_SERVICE_ROLE`, else the
    user of the service's URL when the migrations run as another user; None when there is none to grant to."""
    if env.get("DATABASE_SERVICE_ROLE"):
        return env["DATABASE_SERVICE_ROLE"]
    service_user, owner = make_url(database_url).username, make_url(migration_url).username
    return service_user if service_user and service_user != owner else None


def _oidc_issuers(text: str) -> tuple:
    """OIDC_ISSUERS: a JSON list of the external issuers to trust (see runtime.auth.TrustedIssuer)."""
    if not text.strip():
        return ()
    try:
        entries = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"OIDC_ISSUERS is not valid JSON: {exc}") from None
    if not isinstance(entries, list):
        raise ValueError("OIDC_ISSUERS must be a JSON list of issuer objects")
    return tuple(entries)


def _dev_secret(text: str) -> str | None:
    """JWT_DEV_SECRET: unset in production (HS256 refused); for development, a secret long enough to matter."""
    if not text:
        return None
    if len(text) < MIN_DEV_SECRET_LENGTH:
        raise ValueError(f"JWT_DEV_SECRET must be at least {MIN_DEV_SECRET_LENGTH} characters")
    return text


@dataclass(frozen=True)
class Settings:
    """Everything a service process needs to know about its environment."""

    service: str
    database_url: str
    kafka_bootstrap_servers: str
    migration_database_url: str = ""
    service_role: str | None = None
    jwt_issuer: str = DEFAULT_IDENTITY_URL
    jwt_audience: str = "kinerja"
    jwks_url: str = f"{DEFAULT_IDENTITY_URL}/.well-known/jwks.json"
    jwks_cache_seconds: float = 300
    oidc_issuers: tuple = ()
    jwt_dev_secret: str | None = None
    signing_keys_dir: str = ""
    policy_file: str | None = None
    data_dir: str = ""
    consumer_max_attempts: int = 5
    audit_head_interval_seconds: float = 300
    extra: dict = field(default_factory=dict)

    @property
    def consumer_group(self) -> str:
        """The Kafka consumer group of the service's consumer: `<SERVICE>_CONSUMER_GROUP`, by default its name
        (two stacks sharing one broker set it apart)."""
        return self.extra.get(f"{self.service.upper()}_CONSUMER_GROUP") or self.service

    @classmethod
    def from_env(cls, service: str, env: dict | None = None) -> "Settings":
        """Read the settings of `service` from the environment (or the mapping given)."""
        env = dict(os.environ if env is None else env)
        data_dir = env.get("KINERJA_DATA_DIR", str(repo_root() / ".cache" / "data"))
        identity_url = env.get("IDENTITY_URL", DEFAULT_IDENTITY_URL).rstrip("/")
        database_url, migration_url = service_database_url(service, env), service_migration_url(service, env)
        return cls(
            service=service,
            database_url=database_url,
            migration_database_url=migration_url,
            service_role=service_role(database_url, migration_url, env),
            kafka_bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
            jwt_issuer=env.get("JWT_ISSUER", identity_url),
            jwt_audience=env.get("JWT_AUDIENCE", "kinerja"),
            jwks_url=env.get("JWKS_URL", f"{identity_url}/.well-known/jwks.json"),
            jwks_cache_seconds=float(env.get("JWKS_CACHE_SECONDS", "300")),
            oidc_issuers=_oidc_issuers(env.get("OIDC_ISSUERS", "")),
            jwt_dev_secret=_dev_secret(env.get("JWT_DEV_SECRET", "")),
            signing_keys_dir=env.get("SIGNING_KEYS_DIR", str(Path(data_dir) / "signing-keys")),
            policy_file=env.get("POLICY_FILE") or str(repo_root() / "deploy" / "policies" / "national.toml"),
            data_dir=data_dir,
            consumer_max_attempts=int(env.get("CONSUMER_MAX_ATTEMPTS", "5")),
            audit_head_interval_seconds=float(env.get("AUDIT_HEAD_INTERVAL_SECONDS", "300")),
            extra={k: v for k, v in env.items() if k.startswith(service.upper() + "_")},
        )
