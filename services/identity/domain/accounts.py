"""Pure rules of sign-in: activation codes, password acceptability, lockout after repeated failures."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

# No 0/O, 1/I/L: a code is read off paper and typed by hand.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
MIN_PASSWORD_LENGTH = 10


@dataclass(frozen=True)
class SignInPolicy:
    """How long codes and tokens live, and when failures lock an account."""

    max_failures: int = 5
    lock_minutes: int = 15
    code_days: int = 14
    access_minutes: int = 15
    refresh_days: int = 14

    @classmethod
    def from_settings(cls, extra: dict) -> "SignInPolicy":
        """Overrides from IDENTITY_MAX_FAILURES, IDENTITY_LOCK_MINUTES, IDENTITY_CODE_DAYS, ..."""
        values = {}
        for name in cls.__dataclass_fields__:
            raw = extra.get(f"IDENTITY_{name.upper()}")
            if raw is not None:
                values[name] = int(raw)
                if values[name] <= 0:
                    raise ValueError(f"IDENTITY_{name.upper()} must be positive")
        return cls(**values)


def new_code() -> str:
    """A one-time activation code, e.g. `K7PQX-3MZ9A`."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalise_code(code: str) -> str:
    """The code as printed, whatever the case, spaces or dashes it was typed with."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def digest(secret: str) -> str:
    """What is stored of a code or a refresh token (never the value itself)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def password_problems(nip: str, password: str) -> list[str]:
    """Why a new password is not acceptable (empty when it is)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"at least {MIN_PASSWORD_LENGTH} characters")
    if nip in password:
        problems.append("must not contain the NIP")
    if len(set(password)) < 4:
        problems.append("too few different characters")
    return problems


def locked(locked_until: datetime | None, now: datetime) -> bool:
    """Whether an account is locked at `now`."""
    return locked_until is not None and locked_until > now


def after_failure(failures: int, policy: SignInPolicy, now: datetime) -> tuple[int, datetime | None]:
    """The failure count and the lock (if any) after one more wrong password; the count restarts once locked."""
    failures += 1
    if failures >= policy.max_failures:
        return 0, now + timedelta(minutes=policy.lock_minutes)
    return failures, None
