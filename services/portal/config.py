"""The portal's configuration, read from the environment: where the services are, how people sign in."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from runtime.config import repo_root
from runtime.service import SERVICES

PORT = 8000


@dataclass(frozen=True)
class PortalSettings:
    """Everything the portal process needs: service URLs, the identity service, sessions, dev sign-in."""

    service_urls: dict[str, str]
    identity_url: str
    data_dir: str
    session_hours: float = 12.0
    # Development only: sign in by typing a NIP and ticking roles, the portal signing the token as
    # `kinerja token` does (the platform key in the data directory). Off unless PORTAL_DEV_SIGNIN=1.
    dev_signin: bool = False
    cookie_secure: bool = False
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict | None = None) -> "PortalSettings":
        """Read the settings (`<SERVICE>_URL`, `IDENTITY_URL`, `PORTAL_*`) from the environment or `env`."""
        env = dict(os.environ if env is None else env)
        urls = {name: env.get(f"{name.upper()}_URL", f"http://127.0.0.1:{port}") for name, port in SERVICES.items()}
        return cls(
            service_urls=urls,
            identity_url=env.get("IDENTITY_URL", urls["identity"]).rstrip("/"),
            data_dir=env.get("KINERJA_DATA_DIR", str(repo_root() / ".cache" / "data")),
            session_hours=float(env.get("PORTAL_SESSION_HOURS", "12")),
            dev_signin=env.get("PORTAL_DEV_SIGNIN", "") == "1",
            cookie_secure=env.get("PORTAL_COOKIE_SECURE", "") == "1",
        )

    @property
    def session_dir(self) -> Path:
        """Where the server-side sessions are kept."""
        return Path(self.data_dir) / "portal-sessions"


def new_secret() -> str:
    """A fresh random secret (session ids, form tokens)."""
    return secrets.token_urlsafe(32)
