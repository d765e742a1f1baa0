"""A real Keycloak for the tests of external sign-in: started once per session from the distribution that
deploy/keycloak/fetch.sh unpacks and builds (production mode, optimised, plain HTTP on loopback), with the
realm of deploy/keycloak/ imported through the admin API, and a browser-less sign-in by the
authorisation-code flow with PKCE (Keycloak's own login form, over HTTP)."""
from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import secrets
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import requests

ROOT = Path(__file__).resolve().parents[1]
REALM_FILE = ROOT / "deploy" / "keycloak" / "realm-kinerja.json"
CLIENT_ID = "kinerja-portal"
REDIRECT_URI = "http://127.0.0.1/callback"


def installed() -> tuple[Path, str] | None:
    """(Keycloak home, JAVA_HOME) as fetch.sh left them, or None."""
    cache = ROOT / ".cache" / "keycloak"
    homes = sorted(cache.glob("keycloak-*/bin/kc.sh"))
    if not list(cache.glob(".built-*")):
        return None
    java_home = (cache / "java-home").read_text().strip() if (cache / "java-home").exists() else ""
    if not homes or not java_home:
        return None
    return homes[-1].parents[1], java_home


class Keycloak:
    """One Keycloak server in development mode, in memory, on loopback."""

    def __init__(self, home: Path, java_home: str, port: int, management_port: int, workdir: Path):
        self.home, self.java_home, self.port, self.management_port = home, java_home, port, management_port
        self.workdir = workdir
        self.base = f"http://127.0.0.1:{port}"
        self.issuer = f"{self.base}/realms/kinerja"
        self.admin_password = secrets.token_urlsafe(18)
        self.process: subprocess.Popen | None = None

    def start(self, timeout_s: float = 600) -> "Keycloak":
        """Start the server, wait until it answers, import the realm."""
        env = dict(os.environ, JAVA_HOME=self.java_home, KC_BOOTSTRAP_ADMIN_USERNAME="admin",
                   KC_BOOTSTRAP_ADMIN_PASSWORD=self.admin_password)
        log = open(self.workdir / "keycloak.log", "wb")
        self.process = subprocess.Popen(
            [str(self.home / "bin" / "kc.sh"), "start", "--optimized", "--http-enabled=true", "--hostname-strict=false",
             "--http-host=127.0.0.1", f"--http-port={self.port}", f"--http-management-port={self.management_port}"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"Keycloak exited ({self.process.returncode}): {self.log_tail()}")
            try:
                if requests.get(f"{self.base}/realms/master", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"Keycloak did not start in {timeout_s} s: {self.log_tail()}")
            time.sleep(1)
        created = requests.post(f"{self.base}/admin/realms", json=json.loads(REALM_FILE.read_text()),
                                headers=self._admin(), timeout=60)
        created.raise_for_status()
        return self

    def log_tail(self) -> str:
        """The end of the server's log."""
        return (self.workdir / "keycloak.log").read_bytes()[-3000:].decode(errors="replace")

    def stop(self) -> None:
        """Stop the server (its whole process group)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)

    def _admin(self) -> dict:
        token = requests.post(f"{self.base}/realms/master/protocol/openid-connect/token", timeout=30, data={
            "grant_type": "password", "client_id": "admin-cli", "username": "admin",
            "password": self.admin_password}).json()["access_token"]
        return {"Authorization": f"Bearer {token}"}

    def create_user(self, username: str, roles: list[str], password: str) -> None:
        """A realm user (username = NIP) with a password and realm roles."""
        admin = self._admin()
        users = f"{self.base}/admin/realms/kinerja/users"
        created = requests.post(users, headers=admin, timeout=30, json={
            "username": username, "enabled": True, "email": f"{username}@example.go.id", "emailVerified": True,
            "firstName": "Siti", "lastName": "Aminah",
            "credentials": [{"type": "password", "value": password, "temporary": False}]})
        created.raise_for_status()
        user_id = created.headers["Location"].rsplit("/", 1)[-1]
        grants = [requests.get(f"{self.base}/admin/realms/kinerja/roles/{name}", headers=admin, timeout=30).json()
                  for name in roles]
        requests.post(f"{users}/{user_id}/role-mappings/realm", headers=admin, json=grants,
                      timeout=30).raise_for_status()

    def confidential_client(self, client_id: str) -> str:
        """A confidential client (created, or its secret renewed) for token introspection; returns its secret.
        Keycloak answers an introspection only for a client in the token's audience: name it as the audience."""
        admin, clients = self._admin(), f"{self.base}/admin/realms/kinerja/clients"
        found = requests.get(clients, params={"clientId": client_id}, headers=admin, timeout=30).json()
        if found:
            renewed = requests.post(f"{clients}/{found[0]['id']}/client-secret", headers=admin, timeout=30)
            renewed.raise_for_status()
            return renewed.json()["value"]
        secret = secrets.token_urlsafe(24)
        requests.post(clients, headers=admin, timeout=30, json={
            "clientId": client_id, "enabled": True, "publicClient": False, "secret": secret,
            "clientAuthenticatorType": "client-secret", "standardFlowEnabled": False,
            "directAccessGrantsEnabled": False, "serviceAccountsEnabled": False}).raise_for_status()
        return secret

    def sign_out(self, refresh_token: str) -> None:
        """End the Keycloak session the tokens belong to, as the portal's sign-out does."""
        requests.post(f"{self.issuer}/protocol/openid-connect/logout", timeout=30, data={
            "client_id": CLIENT_ID, "refresh_token": refresh_token}).raise_for_status()

    def sign_in(self, username: str, password: str) -> dict:
        """The authorisation-code flow with PKCE, as a browser would do it: Keycloak's login form is fetched
        and submitted, the code taken from the redirect, and exchanged for tokens with the verifier."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        state = secrets.token_urlsafe(12)
        browser = requests.Session()
        endpoint = f"{self.issuer}/protocol/openid-connect"
        form = browser.get(f"{endpoint}/auth?" + urlencode({
            "client_id": CLIENT_ID, "response_type": "code", "scope": "openid", "redirect_uri": REDIRECT_URI,
            "state": state, "code_challenge": challenge, "code_challenge_method": "S256"}), timeout=30)
        form.raise_for_status()
        for cookie in browser.cookies:  # Keycloak marks its cookies Secure; this browser talks plain HTTP on loopback
            cookie.secure = False
        action = html.unescape(re.search(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"', form.text).group(1))
        answer = browser.post(action, data={"username": username, "password": password, "credentialId": ""},
                              allow_redirects=False, timeout=30)
        assert answer.status_code == 302, f"the login form answered {answer.status_code}"
        query = parse_qs(urlparse(answer.headers["Location"]).query)
        assert query["state"] == [state]
        tokens = browser.post(f"{endpoint}/token", timeout=30, data={
            "grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": REDIRECT_URI,
            "client_id": CLIENT_ID, "code_verifier": verifier})
        tokens.raise_for_status()
        return tokens.json()
