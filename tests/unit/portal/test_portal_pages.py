"""The portal's pages without the services behind them: signing in, CSRF, language, double submits."""
import re

import pytest

from portal.app import create_app
from portal.config import PortalSettings
from tests.tokens import LocalIssuer

UNREACHABLE = "http://127.0.0.1:1"
NIP = "198001012005011004"


def _portal(tmp_path, dev=False):
    settings = PortalSettings(service_urls={name: UNREACHABLE for name in ("attendance", "activities", "approvals",
                                                                            "scoring", "payroll", "directory")},
                              identity_url=UNREACHABLE, data_dir=str(tmp_path), dev_signin=dev)
    return create_app(settings, dev_minter=LocalIssuer.default().mint if dev else None).test_client()


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def client(tmp_path):
    return _portal(tmp_path)


def test_pages_need_a_signed_in_person(client):
    response = client.get("/queue")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=/queue")


def test_a_form_without_the_session_token_is_refused(client):
    assert client.post("/login", data={"nip": NIP, "password": "x"}).status_code == 400


def test_sign_in_errors_are_next_to_their_field_in_indonesian_and_what_was_typed_is_kept(client):
    token = _token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"csrf_token": token, "nip": "12345", "password": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="nip-error">Masukkan NIP Anda (18 digit).' in html and 'aria-describedby="nip-error"' in html
    assert 'value="12345"' in html and "Masukkan kata sandi Anda." in html
    response = client.post("/login", data={"csrf_token": token, "nip": NIP, "password": "secret"})
    html = response.get_data(as_text=True)
    assert "Layanan masuk sedang tidak tersedia" in html and f'value="{NIP}"' in html and "secret" not in html


def test_english_on_request(client):
    token = _token(client.get("/login").get_data(as_text=True))
    client.post("/language", data={"csrf_token": token, "language": "en", "next": "/login"})
    assert "<h1>Sign in</h1>" in client.get("/login").get_data(as_text=True)


def test_development_sign_in_exists_only_when_enabled(client, tmp_path):
    token = _token(client.get("/login").get_data(as_text=True))
    assert "PORTAL_DEV_SIGNIN" not in client.get("/login").get_data(as_text=True)
    assert client.post("/login/dev", data={"csrf_token": token, "nip": NIP}).status_code == 404
    dev = _portal(tmp_path / "dev", dev=True)
    token = _token(dev.get("/login").get_data(as_text=True))
    response = dev.post("/login/dev", data={"csrf_token": token, "nip": NIP, "roles": ["finance"]})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    value = cookie.split(";", 1)[0].split("=", 1)[1]
    # the tokens stay on the server: the cookie holds an opaque session id, not a JWT (three dotted parts)
    assert "HttpOnly" in cookie and value.count(".") == 0 and len(value) < 100


def test_a_form_sent_twice_is_sent_once(tmp_path):
    dev = _portal(tmp_path, dev=True)
    token = _token(dev.get("/login").get_data(as_text=True))
    dev.post("/login/dev", data={"csrf_token": token, "nip": NIP, "roles": ["finance"]})
    token = _token(dev.get("/login").get_data(as_text=True))
    form = {"csrf_token": token, "once": "form-1", "year": "2026", "month": "13"}
    first = dev.post("/runs", data=form)
    assert first.status_code == 502  # validated, then the list of runs is read from an unreachable service
    second = dev.post("/runs", data=form, headers={"Referer": "/runs"})
    assert second.status_code == 302 and second.headers["Location"] == "/runs"
    assert "Sudah terkirim" in dev.get("/login").get_data(as_text=True)


def test_installable_with_a_manifest_and_a_service_worker(client):
    manifest = client.get("/manifest.webmanifest")
    assert manifest.status_code == 200 and manifest.get_json()["start_url"] == "/"
    assert "fetch" in client.get("/sw.js").get_data(as_text=True)


def test_activation_errors_are_next_to_their_field_and_the_code_typed_is_kept(client):
    token = _token(client.get("/activate").get_data(as_text=True))
    response = client.post("/activate", data={"csrf_token": token, "nip": NIP, "code": "k7pqx-3mz9a",
                                              "password": "rahasia-satu", "confirm": "rahasia-dua"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="confirm-error">Kedua kata sandi tidak sama.' in html and 'value="k7pqx-3mz9a"' in html
    assert "rahasia-satu" not in html  # passwords are never sent back
    response = client.post("/activate", data={"csrf_token": token, "nip": NIP, "code": "k7pqx-3mz9a",
                                              "password": "rahasia-satu", "confirm": "rahasia-satu"})
    assert "Layanan masuk sedang tidak tersedia" in response.get_data(as_text=True)  # identity unreachable
