"""External single sign-on against a real Keycloak: a person signs in with the authorisation-code flow and
PKCE on Keycloak's own login form, the services accept the token (NIP and roles from the configured
claims), a platform that does not trust the issuer refuses it, and so does every service once it expires,
or, where the issuer is asked (token introspection), as soon as the person signs out."""
import secrets
import time

import jwt
import pytest

from runtime.auth import CLOCK_SKEW_SECONDS

# Keycloak's start (once per session) counts towards the first test's time: 1-2 minutes on a quiet machine.
pytestmark = [pytest.mark.keycloak, pytest.mark.postgres, pytest.mark.timeout(900)]


def test_a_keycloak_token_is_refused_once_its_session_is_signed_out(keycloak, new_database, make_app, new_nip):
    nip, password = new_nip(), secrets.token_urlsafe(12)
    keycloak.create_user(nip, ["staff"], password)
    # the platform introspects as the client named like its audience (Keycloak answers only such a client)
    trusted = ({"issuer": keycloak.issuer, "audience": "kinerja", "subject_claim": "preferred_username",
                "roles_claim": "realm_access.roles", "introspection_client_id": "kinerja",
                "introspection_client_secret": keycloak.confidential_client("kinerja"),
                "introspection_endpoint": f"{keycloak.issuer}/protocol/openid-connect/token/introspect",
                "introspection_cache_seconds": 1},)
    directory = make_app("directory", new_database("directory"), oidc_issuers=trusted).test_client()
    tokens = keycloak.sign_in(nip, password)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert directory.get("/me", headers=bearer).status_code == 200
    keycloak.sign_out(tokens["refresh_token"])
    time.sleep(1.5)  # past the one-second cache of the issuer's last answer
    refused = directory.get("/me", headers=bearer)
    assert refused.status_code == 401 and "no longer active" in refused.json["detail"], refused.json
    assert jwt.decode(tokens["access_token"], options={"verify_signature": False})["exp"] > time.time()  # unexpired


def test_a_keycloak_sign_in_reaches_the_apis_until_the_token_expires(keycloak, new_database, make_app, new_nip):
    nip, password = new_nip(), secrets.token_urlsafe(12)
    keycloak.create_user(nip, ["staff", "kinerja-admin"], password)
    trusted = ({"issuer": keycloak.issuer, "audience": "kinerja", "subject_claim": "preferred_username",
                "roles_claim": "realm_access.roles", "role_map": {"kinerja-admin": "admin"}},)
    directory_url = new_database("directory")
    directory = make_app("directory", directory_url, oidc_issuers=trusted).test_client()
    untrusting = make_app("directory", directory_url).test_client()

    tokens = keycloak.sign_in(nip, password)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = directory.get("/me", headers=bearer)
    assert me.status_code == 200, me.json
    assert me.json["employee_id"] == nip and me.json["roles"] == ["admin", "staff"]
    unit = f"U{nip[-6:]}"
    assert directory.put(f"/units/{unit}", json={"name": "Dinas dari SSO"}, headers=bearer).status_code == 200

    refused = untrusting.get("/me", headers=bearer)
    assert refused.status_code == 401 and "issuer is not trusted" in refused.json["detail"]

    expires = jwt.decode(tokens["access_token"], options={"verify_signature": False})["exp"]
    time.sleep(max(0.0, expires + CLOCK_SKEW_SECONDS + 1 - time.time()))
    expired = directory.get("/me", headers=bearer)
    assert expired.status_code == 401 and "expired" in expired.json["detail"]
