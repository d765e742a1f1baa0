"""Built-in sign-in on a real PostgreSQL: activation, passwords, lockout, refresh rotation, sign-out, resets,
the audit log, and tokens the other services accept."""
import pytest

from runtime.db import make_engine, make_session_factory

pytestmark = pytest.mark.postgres

PASSWORD = "kopi-tubruk-2026"


@pytest.fixture
def identity(new_database, make_app, new_nip, token):
    """An identity service with one employee of the roster; returns (client, nip, admin headers, app)."""
    url = new_database("identity")
    app = make_app("identity", url)
    from identity import handlers
    from identity.tables import metadata
    sessions = make_session_factory(make_engine(url), metadata)
    nip, unit = new_nip(), f"U{new_nip()[-6:]}"
    with sessions() as session:
        handlers.project_employee(session, {"employee_id": nip, "name": "Siti Aminah", "unit_id": unit,
                                            "roles": ["supervisor"], "active": True})
        session.commit()
    return app.test_client(), nip, token(new_nip(), "admin"), app


def _activate(client, nip, admin, password=PASSWORD):
    issued = client.post(f"/accounts/{nip}/activation-codes", headers=admin)
    assert issued.status_code == 201, issued.json
    code = issued.json["code"]
    assert client.post("/accounts/activate", json={"nip": nip, "code": code.lower(), "password": password}
                       ).status_code == 204
    return code


def _login(client, nip, password=PASSWORD):
    return client.post("/auth/login", json={"nip": nip, "password": password})


def _events(client, admin, nip):
    return [e["event"] for e in client.get(f"/audit?nip={nip}", headers=admin).json["entries"]]


def test_an_activated_account_signs_in_and_other_services_accept_its_token(identity, new_database, make_app):
    client, nip, admin, _ = identity
    assert _login(client, nip).status_code == 401, "no password before activation"
    code = _activate(client, nip, admin)
    assert client.post("/accounts/activate", json={"nip": nip, "code": code, "password": "another-pass-99"}
                       ).status_code == 401, "a code works once"
    signed_in = _login(client, nip)
    assert signed_in.status_code == 200
    tokens = signed_in.json
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900 and tokens["refresh_token"]
    directory = make_app("directory", new_database("directory")).test_client()
    me = directory.get("/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert me.json["employee_id"] == nip and me.json["roles"] == ["staff", "supervisor"]
    assert client.get(f"/accounts/{nip}", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json[
        "activated"] is True
    assert _events(client, admin, nip) == ["sign_in", "activation_failed", "activated", "activation_code_issued",
                                          "sign_in_failed"]


def test_a_weak_password_is_refused_naming_the_field(identity):
    client, nip, admin, _ = identity
    code = client.post(f"/accounts/{nip}/activation-codes", headers=admin).json["code"]
    refused = client.post("/accounts/activate", json={"nip": nip, "code": code, "password": f"x{nip}"})
    assert refused.status_code == 422 and refused.json["errors"][0]["field"] == "password"
    assert client.post("/accounts/activate", json={"nip": nip, "code": code, "password": PASSWORD}).status_code == 204


def test_wrong_passwords_lock_the_account_even_against_the_right_one(identity):
    client, nip, admin, _ = identity
    _activate(client, nip, admin)
    for _ in range(4):
        wrong = _login(client, nip, "not-the-password")
        assert wrong.status_code == 401 and wrong.mimetype == "application/problem+json"
    assert _login(client, nip, "not-the-password").status_code == 401  # the fifth failure locks
    locked = _login(client, nip)
    assert locked.status_code == 423 and locked.json["retry_after"] > 0
    events = _events(client, admin, nip)
    assert events[:3] == ["sign_in_refused_locked", "locked", "sign_in_failed"]
    assert events.count("sign_in_failed") == 5
    assert client.post(f"/accounts/{nip}/unlock", headers=admin).status_code == 204
    assert _login(client, nip).status_code == 200


def test_refresh_rotates_and_a_reused_token_revokes_the_whole_family(identity):
    client, nip, admin, _ = identity
    _activate(client, nip, admin)
    first = _login(client, nip).json
    second = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200 and second.json["refresh_token"] != first["refresh_token"]
    third = client.post("/auth/refresh", json={"refresh_token": second.json["refresh_token"]}).json
    # the first token again: someone kept a copy -> the family is revoked, the owner's current token included
    assert client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]}).status_code == 401
    assert client.post("/auth/refresh", json={"refresh_token": third["refresh_token"]}).status_code == 401
    assert "refresh_reuse_detected" in _events(client, admin, nip)
    assert _login(client, nip).status_code == 200, "signing in again starts a new family"


def test_sign_out_revokes_the_refresh_token(identity):
    client, nip, admin, _ = identity
    _activate(client, nip, admin)
    tokens = _login(client, nip).json
    other_device = _login(client, nip).json
    assert client.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]}).status_code == 204
    assert client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    assert client.post("/auth/refresh", json={"refresh_token": other_device["refresh_token"]}).status_code == 200
    assert client.post("/auth/logout", json={"refresh_token": "never-issued"}).status_code == 204


def test_an_admin_reset_ends_every_session_and_issues_a_new_code(identity, token):
    client, nip, admin, _ = identity
    _activate(client, nip, admin)
    tokens = _login(client, nip).json
    assert client.post(f"/accounts/{nip}/password-reset", headers=token(nip, "staff")).status_code == 403
    reset = client.post(f"/accounts/{nip}/password-reset", headers=admin)
    assert reset.status_code == 201 and reset.json["code"]
    assert _login(client, nip).status_code == 401
    assert client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    assert client.post("/accounts/activate", json={"nip": nip, "code": reset.json["code"],
                                                   "password": "teh-manis-2027"}).status_code == 204
    assert _login(client, nip, "teh-manis-2027").status_code == 200
    assert "password_reset" in _events(client, admin, nip)


def test_a_unit_gets_a_printable_sheet_of_codes_for_those_not_yet_activated(identity, new_nip):
    client, nip, admin, app = identity
    from identity import handlers
    unit = client.get(f"/accounts/{nip}", headers=admin).json["unit_id"]
    colleague = new_nip()
    with app.extensions["kinerja"].sessions() as session:
        handlers.project_employee(session, {"employee_id": colleague, "name": "Budi Santoso", "unit_id": unit})
        session.commit()
    _activate(client, nip, admin)
    sheet = client.post(f"/units/{unit}/activation-codes?format=csv", headers=admin)
    assert sheet.status_code == 201 and sheet.mimetype == "text/csv"
    lines = sheet.get_data(as_text=True).strip().splitlines()
    assert lines[0] == "nip,name,code,expires_at" and len(lines) == 2 and lines[1].startswith(f"{colleague},Budi")


def test_the_public_endpoints_are_rate_limited(new_database, make_app, new_nip):
    from runtime.config import Settings
    settings_extra = {"extra": {"IDENTITY_RATE_LIMIT": "3 per minute"}}
    client = make_app("identity", new_database("identity"), **settings_extra).test_client()
    answers = [_login(client, new_nip()) for _ in range(4)]
    assert [answer.status_code for answer in answers] == [401, 401, 401, 429]
    refused = answers[-1]
    assert refused.json["title"] == "Too Many Requests" and refused.json["detail"] == "3 per 1 minute"
    assert refused.headers["X-RateLimit-Limit"] == "3" and refused.headers["X-RateLimit-Remaining"] == "0"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert Settings.from_env("identity", {}).jwt_dev_secret is None


def test_jwks_and_discovery(identity):
    client, *_ = identity
    keys = client.get("/.well-known/jwks.json").json["keys"]
    assert keys and all(k["kty"] == "RSA" and k["alg"] == "RS256" and "d" not in k for k in keys)
    discovery = client.get("/.well-known/openid-configuration").json
    assert discovery["jwks_uri"] == discovery["issuer"].rstrip("/") + "/.well-known/jwks.json"


def test_ops_rotate_the_signing_key_which_is_published_before_it_signs(new_database, make_app, new_nip, token,
                                                                      tmp_path):
    client = make_app("identity", new_database("identity"), signing_keys_dir=str(tmp_path)).test_client()
    before = {k["kid"] for k in client.get("/.well-known/jwks.json").json["keys"]}
    assert client.post("/keys/rotate", headers=token(new_nip(), "staff")).status_code == 403
    rotated = client.post("/keys/rotate", headers=token(new_nip(), "ops"))
    assert rotated.status_code == 201
    after = {k["kid"] for k in client.get("/.well-known/jwks.json").json["keys"]}
    assert after == before | {rotated.json["kid"]}
    assert [e["event"] for e in client.get("/audit", headers=token(new_nip(), "ops")).json["entries"]] == ["key_rotated"]


def _revocations(app) -> list:
    """The `identity.session.revoked` events in the identity outbox, oldest first."""
    from sqlalchemy import select

    from identity.tables import metadata
    from runtime.events import parse_event
    outbox = metadata.tables["outbox"]
    with make_session_factory(app.extensions["kinerja"].engine, metadata)() as session:
        return [parse_event(r.payload) for r in session.execute(
            select(outbox.c.payload).where(outbox.c.type == "identity.session.revoked").order_by(outbox.c.id))]


def test_a_signed_out_session_s_access_token_is_refused_before_it_expires(identity, new_database, make_app):
    import jwt

    from directory.tables import metadata
    from runtime.consumer import EventConsumer
    from runtime.service import service
    client, nip, admin, app = identity
    _activate(client, nip, admin)
    tokens, other = _login(client, nip).json, _login(client, nip).json
    refreshed = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).json
    sid = jwt.decode(tokens["access_token"], options={"verify_signature": False})["sid"]
    assert jwt.decode(refreshed["access_token"], options={"verify_signature": False})["sid"] == sid  # one session
    directory_url = new_database("directory")
    directory = make_app("directory", directory_url).test_client()
    bearer = lambda t: {"Authorization": f"Bearer {t['access_token']}"}  # noqa: E731
    assert directory.get("/me", headers=bearer(tokens)).status_code == 200
    assert client.post("/auth/logout", json={"refresh_token": refreshed["refresh_token"]}).status_code == 204
    [revoked] = _revocations(app)
    assert (revoked.data["sid"], revoked.data["employee_id"], revoked.data["reason"]) == (sid, nip, "signed_out")
    # the directory's consumer projects the event (the handler runtime adds to every service's consumer)
    engine = make_engine(directory_url)
    consumer = EventConsumer("directory", None, None, make_session_factory(engine, metadata),
                             service("directory").consumer_handlers(directory.application.config["SETTINGS"]))
    assert consumer.apply(revoked) and not consumer.apply(revoked)  # a redelivery changes nothing
    for access in (tokens, refreshed):
        refused = directory.get("/me", headers=bearer(access))
        assert refused.status_code == 401 and "signed out or revoked" in refused.json["detail"]
    assert directory.get("/me", headers=bearer(other)).status_code == 200  # another sign-in is untouched
    # an admin's reset revokes every remaining session of the person, the other one included
    assert client.post(f"/accounts/{nip}/password-reset", headers=admin).status_code == 201
    reset = [e for e in _revocations(app) if e.data["reason"] == "password_reset"]
    assert [e.data["sid"] for e in reset] == [jwt.decode(other["access_token"],
                                                         options={"verify_signature": False})["sid"]]
    consumer.apply(reset[0])
    assert directory.get("/me", headers=bearer(other)).status_code == 401
    engine.dispose()


def test_refresh_reuse_revokes_the_session_s_access_tokens_too(identity):
    client, nip, admin, app = identity
    _activate(client, nip, admin)
    first = _login(client, nip).json
    client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]}).status_code == 401
    [revoked] = _revocations(app)
    assert revoked.data["reason"] == "refresh_reuse_detected"
    from runtime.service import service  # identity refuses the session's tokens too, by the same projection
    assert "identity.session.revoked" in service("identity").consumer_handlers(app.config["SETTINGS"])
