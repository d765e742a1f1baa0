"""Tokens for the tests: a platform issuer of their own whose JWKS is served over HTTP, as the identity
service serves it. A module of its own (not conftest) so that its one session issuer is shared by
conftest and by the test modules that import helpers from it."""
from __future__ import annotations

import json
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from runtime.auth import mint_token
from runtime.config import Settings
from runtime.keys import KeyStore


class _JwksServer:
    """A local HTTP server publishing key stores' JWKS, as the identity service does (PyJWKClient needs HTTP)."""

    def __init__(self):
        stores: dict[str, KeyStore] = {}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                store = stores.get(self.path.strip("/").split("/")[0])
                body = json.dumps(store.jwks()).encode() if store else b"{}"
                self.send_response(200 if store else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.stores = stores
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def publish(self, store: KeyStore) -> str:
        """Serve `store`'s public keys; return the JWKS address."""
        name = uuid.uuid4().hex[:12]
        self.stores[name] = store
        return f"http://127.0.0.1:{self.server.server_address[1]}/{name}/jwks.json"


class LocalIssuer:
    """The tests' platform issuer: a key pair of their own, its JWKS served over HTTP, and the settings
    that make every service under test trust it (the identity service under test signs with it too)."""

    issuer = Settings.jwt_issuer
    _server: _JwksServer | None = None
    _default: "LocalIssuer | None" = None

    def __init__(self, directory: Path | None = None, **rotation):
        self.directory = Path(directory or tempfile.mkdtemp(prefix="kinerja-test-keys-"))
        self.keys = KeyStore(self.directory, **rotation)
        self.keys.ensure()
        if LocalIssuer._server is None:
            LocalIssuer._server = _JwksServer()
        self.jwks_url = LocalIssuer._server.publish(self.keys)

    @classmethod
    def default(cls) -> "LocalIssuer":
        """The session's issuer, made on first use."""
        if cls._default is None:
            cls._default = cls()
        return cls._default

    def settings(self) -> dict:
        """The Settings fields that point a service at this issuer."""
        return {"jwt_issuer": self.issuer, "jwks_url": self.jwks_url, "signing_keys_dir": str(self.directory)}

    def mint(self, subject: str, roles, **kwargs) -> str:
        """A token for `subject` with `roles`, as the identity service would sign it."""
        return mint_token(self.keys.signing_key(), self.issuer, subject, roles, **kwargs)


def bearer_token(subject: str, roles) -> str:
    """An access token for (NIP, roles) that every service under test accepts."""
    return LocalIssuer.default().mint(subject, roles)
