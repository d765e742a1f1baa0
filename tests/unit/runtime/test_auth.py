"""Token verification: only tokens signed by a trusted issuer's published key, for this platform, unexpired."""
import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

import jwt
import pytest

from runtime.auth import TrustedIssuer, Verifier, mint_dev_token, mint_token
from runtime.problems import Problem
from tests.tokens import LocalIssuer

NIP = "198001012005011004"
DEV_SECRET = "a-development-secret-of-at-least-32-characters"


def _b64(part: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def _verifier(issuer: LocalIssuer, dev_secret=None, **kwargs) -> Verifier:
    return Verifier([TrustedIssuer(issuer.issuer, "kinerja", issuer.jwks_url)], dev_secret, **kwargs)


def _refused(verifier: Verifier, token: str, match: str) -> None:
    with pytest.raises(Problem) as caught:
        verifier.verify(token)
    assert caught.value.status == 401
    assert match.lower() in caught.value.detail.lower()


def test_a_platform_token_gives_its_subject_and_roles():
    issuer = LocalIssuer.default()
    principal = _verifier(issuer).verify(issuer.mint(NIP, ["staff", "supervisor"]))
    assert principal.subject == NIP and principal.roles == {"staff", "supervisor"}


def test_expired_wrong_audience_and_unknown_issuer_are_refused():
    issuer = LocalIssuer.default()
    verifier = _verifier(issuer)
    _refused(verifier, issuer.mint(NIP, ["staff"], ttl=timedelta(minutes=-5)), "expired")
    _refused(verifier, issuer.mint(NIP, ["staff"], audience="another-platform"), "audience")
    stranger = mint_token(issuer.keys.signing_key(), "https://sso.elsewhere.example", NIP, ["admin"])
    _refused(verifier, stranger, "issuer is not trusted")


def test_a_token_signed_by_another_key_is_refused(tmp_path):
    issuer, impostor = LocalIssuer.default(), LocalIssuer(tmp_path)
    forged = mint_token(impostor.keys.signing_key(), issuer.issuer, NIP, ["admin"])
    _refused(_verifier(issuer), forged, "Unable to find a signing key")


def test_alg_none_is_refused():
    issuer = LocalIssuer.default()
    claims = jwt.decode(issuer.mint(NIP, ["admin"]), options={"verify_signature": False})
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    _refused(_verifier(issuer), unsigned, "'none' is not accepted")


def test_hs256_is_refused_unless_development_tokens_are_enabled():
    issuer = LocalIssuer.default()
    dev = mint_dev_token(DEV_SECRET, issuer.issuer, NIP, ["admin"])
    _refused(_verifier(issuer), dev, "HS256 development tokens are not accepted")
    assert _verifier(issuer, DEV_SECRET).verify(dev).roles == {"admin"}
    # the public key used as an HMAC secret (the key-confusion forgery) is refused in both modes
    from cryptography.hazmat.primitives import serialization
    public_pem = issuer.keys.signing_key().private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    claims = jwt.decode(dev, options={"verify_signature": False})
    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64(claims)}"
    mac = hmac.new(public_pem.encode(), signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    _refused(_verifier(issuer), forged, "not accepted")
    _refused(_verifier(issuer, DEV_SECRET), forged, "Signature verification failed")
    with pytest.raises(ValueError, match="at least 32"):
        _verifier(issuer, "short")


def test_settings_without_configuration_refuse_hs256():
    from runtime.config import Settings
    settings = Settings.from_env("directory", {})
    assert settings.jwt_dev_secret is None
    with pytest.raises(ValueError, match="JWT_DEV_SECRET must be at least 32"):
        Settings.from_env("directory", {"JWT_DEV_SECRET": "secret"})
    verifier = Verifier.from_settings(settings)
    _refused(verifier, mint_dev_token(DEV_SECRET, settings.jwt_issuer, NIP, ["admin"]), "not accepted")


def test_external_issuer_roles_come_from_the_configured_claims(tmp_path):
    keycloak_like = LocalIssuer(tmp_path)
    issuer = TrustedIssuer("https://sso.example/realms/pemda", "kinerja", keycloak_like.jwks_url,
                           subject_claim="nip", roles_claim="realm_access.roles", role_map={"kinerja-admin": "admin"})
    verifier = Verifier([TrustedIssuer(LocalIssuer.default().issuer, "kinerja", LocalIssuer.default().jwks_url),
                         issuer])
    now = datetime.now(timezone.utc)
    claims = {"iss": issuer.issuer, "aud": ["kinerja", "account"], "sub": "f81d4fae-7dec-11d0", "nip": NIP,
              "realm_access": {"roles": ["kinerja-admin", "staff", "offline_access"]}, "iat": now,
              "exp": now + timedelta(minutes=5)}
    key = keycloak_like.keys.signing_key()
    principal = verifier.verify(jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid}))
    assert principal.subject == NIP and principal.roles == {"admin", "staff"}
    assert principal.issuer == issuer.issuer
    without_nip = {k: v for k, v in claims.items() if k != "nip"}
    _refused(verifier, jwt.encode(without_nip, key.private_key, algorithm="RS256", headers={"kid": key.kid}), "no nip")


def test_key_rotation_publishes_ahead_and_keeps_the_old_key_for_the_overlap(tmp_path):
    issuer = LocalIssuer(tmp_path, lead=timedelta(minutes=10), overlap=timedelta(hours=1))
    verifier = _verifier(issuer, jwks_lifespan=300, jwks_cooldown=0)
    old_key = issuer.keys.signing_key()
    old_token = mint_token(old_key, issuer.issuer, NIP, ["staff"])
    assert verifier.verify(old_token).subject == NIP  # the verifier has now cached a key set
    now = datetime.now(timezone.utc)
    new_key = issuer.keys.rotate(now)
    assert issuer.keys.signing_key(now) == old_key, "a new key signs only once every verifier can know it"
    assert {k["kid"] for k in issuer.keys.jwks(now)["keys"]} == {old_key.kid, new_key.kid}
    later = now + timedelta(minutes=11)
    assert issuer.keys.signing_key(later) == new_key
    new_token = mint_token(new_key, issuer.issuer, NIP, ["staff"])
    assert verifier.verify(new_token).subject == NIP  # an unknown kid refreshes the cached set
    assert verifier.verify(old_token).subject == NIP  # still published during the overlap
    retired = {k["kid"] for k in issuer.keys.jwks(now + timedelta(hours=2))["keys"]}
    assert retired == {new_key.kid}


def test_a_key_is_scheduled_for_rotation_when_it_is_old(tmp_path):
    issuer = LocalIssuer(tmp_path, rotate_after=timedelta(days=30))
    first = issuer.keys.signing_key()
    assert issuer.keys.signing_key(datetime.now(timezone.utc) + timedelta(days=31)) == first
    keys = issuer.keys.keys()
    assert len(keys) == 2 and keys[-1].active_from > first.active_from
    assert all((p.stat().st_mode & 0o077) == 0 for p in tmp_path.glob("*.pem")), "private keys are owner-only"


def test_a_token_carries_its_session_and_introspection_needs_a_client():
    issuer = LocalIssuer.default()
    token = mint_token(issuer.keys.signing_key(), issuer.issuer, NIP, ["staff"], session_id="f00dfeed")
    assert _verifier(issuer).verify(token).session_id == "f00dfeed"
    assert _verifier(issuer).verify(issuer.mint(NIP, ["staff"])).session_id is None
    with pytest.raises(ValueError, match="introspection_client_id"):
        TrustedIssuer.from_config({"issuer": "https://sso.example/realms/pemda",
                                   "introspection_endpoint": "https://sso.example/introspect"})
    configured = TrustedIssuer.from_config({
        "issuer": "https://sso.example/realms/pemda", "introspection_client_id": "kinerja-api",
        "introspection_endpoint": "https://sso.example/introspect", "introspection_client_secret": "from-env"})
    assert configured.introspection_cache_seconds == 30
