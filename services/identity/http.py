"""The identity service's HTTP API: the platform's published keys and its OpenID discovery document."""
from __future__ import annotations

from flask import Blueprint, current_app

blueprint = Blueprint("identity", __name__)


def _keys():
    return current_app.extensions["kinerja.keys"]


def _settings():
    return current_app.config["SETTINGS"]


@blueprint.get("/.well-known/jwks.json")
def jwks():
    """The public keys that sign the platform's access tokens (JWKS)."""
    response = current_app.json.response(_keys().jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@blueprint.get("/.well-known/openid-configuration")
def openid_configuration():
    """OpenID discovery metadata of the platform issuer."""
    issuer = _settings().jwt_issuer.rstrip("/")
    return {
        "issuer": _settings().jwt_issuer,
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "token_endpoint": f"{issuer}/auth/login",
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "claims_supported": ["iss", "aud", "sub", "roles", "exp", "iat", "jti"],
    }
