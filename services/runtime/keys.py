"""The platform's own token-signing keys: RSA key pairs kept in the data directory, rotated with overlap.

There is no key in the source: the first key pair is generated on first use. A rotation adds a key that is
published in the JWKS `lead` before it signs anything (so every service's cached key set already holds it
when the first token signed with it arrives), and a replaced key stays published for `overlap` after its
successor took over (so the tokens it signed stay valid until they expire).
Each key is one PEM file named `<active-from epoch>-<kid>.pem`, readable by its owner only.
"""
from __future__ import annotations

import fcntl
import os
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from jwt.algorithms import RSAAlgorithm

KEY_BITS = 2048


@dataclass(frozen=True)
class SigningKey:
    """One key pair: its id (the tokens' `kid` header), when it starts signing, and the private key."""

    kid: str
    active_from: datetime
    private_key: RSAPrivateKey = field(compare=False, repr=False)

    def public_jwk(self) -> dict:
        """The public half as a JWK."""
        jwk = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}


def _now() -> datetime:
    return datetime.now(timezone.utc)


class KeyStore:
    """The signing keys in `directory`."""

    def __init__(self, directory: str | Path, rotate_after: timedelta = timedelta(days=30),
                 overlap: timedelta = timedelta(days=1), lead: timedelta = timedelta(minutes=10)):
        self.directory = Path(directory)
        self.rotate_after, self.overlap, self.lead = rotate_after, overlap, lead
        self._cache: dict[str, SigningKey] = {}

    @contextmanager
    def _locked(self):
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.directory / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def keys(self) -> list[SigningKey]:
        """Every key on disk, oldest first."""
        if not self.directory.is_dir():
            return []
        found = []
        for path in sorted(self.directory.glob("*.pem")):
            if path.name not in self._cache:
                epoch, _, kid = path.stem.partition("-")
                private = serialization.load_pem_private_key(path.read_bytes(), password=None)
                self._cache[path.name] = SigningKey(kid, datetime.fromtimestamp(int(epoch), timezone.utc), private)
            found.append(self._cache[path.name])
        return sorted(found, key=lambda k: k.active_from)

    def _create(self, active_from: datetime) -> SigningKey:
        private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        key = SigningKey(uuid.uuid4().hex[:16], active_from.replace(microsecond=0), private)
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        path = self.directory / f"{int(key.active_from.timestamp()):012d}-{key.kid}.pem"
        temporary = path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        os.replace(temporary, path)
        return key

    def ensure(self) -> None:
        """Generate the first key pair if there is none yet (safe when several processes start at once)."""
        if self.keys():
            return
        with self._locked():
            if not self.keys():
                self._create(_now() - timedelta(seconds=1))

    def rotate(self, now: datetime | None = None, lead: timedelta | None = None) -> SigningKey:
        """Add the next key, signing from `now + lead`; drop keys retired longer than the overlap ago."""
        now = now or _now()
        with self._locked():
            key = self._create(now + (self.lead if lead is None else lead))
            keys = self.keys()
            for older, newer in zip(keys, keys[1:]):
                if now - newer.active_from > self.overlap * 2:
                    for path in self.directory.glob(f"*-{older.kid}.pem"):
                        path.unlink(missing_ok=True)
                        self._cache.pop(path.name, None)
            return key

    def signing_key(self, now: datetime | None = None) -> SigningKey:
        """The key that signs now; schedules the next one when this one is older than `rotate_after`."""
        now = now or _now()
        self.ensure()
        keys = self.keys()
        active = [k for k in keys if k.active_from <= now]
        current = active[-1]
        if now - current.active_from > self.rotate_after and len(active) == len(keys):
            self.rotate(now)
        return current

    def published(self, now: datetime | None = None) -> list[SigningKey]:
        """The keys a verifier must know: pending ones, the current one, and those retired within the overlap."""
        now = now or _now()
        keys = self.keys()
        return [k for k, successor in zip(keys, keys[1:] + [None])
                if successor is None or successor.active_from > now or now - successor.active_from < self.overlap]

    def jwks(self, now: datetime | None = None) -> dict:
        """The published public keys as a JSON Web Key Set."""
        return {"keys": [k.public_jwk() for k in self.published(now)]}
