"""The identity service's HTTP API: sign-in, refresh, sign-out, activation, admin actions, keys.

The public endpoints (`/auth/*`, `/accounts/activate`) are rate-limited per client address (`runtime.ratelimit`;
the app factory builds the limit from IDENTITY_RATE_LIMIT, this blueprint checks it).
"""
from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, current_app, request
from marshmallow import Schema, fields, validate
from werkzeug.exceptions import TooManyRequests

from contracts.vocabulary import NIP
from identity import handlers
from identity.domain.accounts import SignInPolicy
from runtime.auth import authenticate, require
from runtime.errors import DomainError, Forbidden
from runtime.problems import Problem
from runtime.ratelimit import answer_headers, hit_request
from runtime.uow import transactional
from runtime.web import db, documented, load_json, problem_response, service_context

public = Blueprint("identity_public", __name__)
blueprint = Blueprint("identity", __name__)


@public.before_request
def _rate_limit():
    """Every call of a public endpoint, failed or not, counts against its client address's budget
    (IDENTITY_RATE_LIMIT, per process); over it, 429 before anything is read."""
    limit = current_app.extensions["identity_rate_limit"]
    hit = hit_request(limit, f"address:{request.remote_addr or '127.0.0.1'}")
    if hit.breached:
        raise TooManyRequests(str(hit.limit))


public.after_request(answer_headers)  # where the caller stands against its limit, on every answer


class LoginSchema(Schema):
    nip = fields.String(required=True, validate=NIP)
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class RefreshSchema(Schema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class ActivateSchema(Schema):
    nip = fields.String(required=True, validate=NIP)
    code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class TokensSchema(Schema):
    access_token = fields.String()
    refresh_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()


def _keys():
    return service_context().keys


def _policy() -> SignInPolicy:
    return service_context().policy


def _settings():
    return service_context().settings


def _answer(outcome, success=None):
    """A use case's result, or its refusal as problem+json: returned, not raised, so that the audit entry
    and the failure count it wrote are committed with the request."""
    if isinstance(outcome, DomainError):
        return problem_response(Problem(outcome.status, outcome.title, outcome.detail, outcome.errors,
                                        **outcome.extra))
    return outcome if success is None else success


@public.post("/auth/login")
@transactional
@documented(LoginSchema, TokensSchema)
def login():
    """Sign in with NIP and password: an access token and a refresh token."""
    body = load_json(LoginSchema())
    return _answer(handlers.sign_in(db(), body["nip"], body["password"], _keys(), _settings(), _policy(),
                                    request.remote_addr))


@public.post("/auth/refresh")
@transactional
@documented(RefreshSchema, TokensSchema)
def refresh():
    """Exchange a refresh token for new tokens (the refresh token is spent)."""
    body = load_json(RefreshSchema())
    return _answer(handlers.refresh(db(), body["refresh_token"], _keys(), _settings(), _policy(),
                                    request.remote_addr))


@public.post("/auth/logout")
@transactional
@documented(RefreshSchema, status=204)
def logout():
    """Sign out: the refresh token and every token refreshed from the same sign-in stop working."""
    body = load_json(RefreshSchema())
    handlers.sign_out(db(), body["refresh_token"], request.remote_addr)
    return "", 204


@public.post("/accounts/activate")
@transactional
@documented(ActivateSchema)
def activate():
    """Set a password with the one-time activation code an admin issued."""
    body = load_json(ActivateSchema())
    return _answer(handlers.activate(db(), body["nip"], body["code"], body["password"], request.remote_addr),
                   ("", 204))


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


@blueprint.get("/accounts/<nip>")
@require()
def get_account(nip):
    """An account's state (the person themself, or an admin)."""
    principal = authenticate()
    if principal.subject != nip and not principal.has("admin", "ops"):
        raise Forbidden("only your own account, unless you are an admin")
    return handlers.account_view(db(), nip)


@blueprint.post("/accounts/<nip>/activation-codes")
@transactional
@require("admin")
@documented(status=201)
def issue_code(nip):
    """Issue a one-time activation code for a person (replaces an unused one)."""
    return handlers.issue_code(db(), nip, authenticate().subject, _policy()), 201


@blueprint.post("/units/<unit_id>/activation-codes")
@transactional
@require("admin")
@documented(status=201)
def issue_unit_codes(unit_id):
    """Codes for everyone of a unit not yet activated; `?format=csv` for a printable download."""
    issued = handlers.issue_unit_codes(db(), unit_id, authenticate().subject, _policy())
    if request.args.get("format") == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["nip", "name", "code", "expires_at"])
        writer.writerows([i["nip"], i["name"], i["code"], i["expires_at"]] for i in issued)
        return Response(out.getvalue(), 201, mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="activation-codes-{unit_id}.csv"'})
    return {"unit_id": unit_id, "codes": issued}, 201


@blueprint.post("/accounts/<nip>/password-reset")
@transactional
@require("admin")
@documented(status=201)
def reset_password(nip):
    """Reset a password: every session of the person ends; a new activation code is issued."""
    return handlers.reset_password(db(), nip, authenticate().subject, _policy()), 201


@blueprint.post("/accounts/<nip>/unlock")
@transactional
@require("admin")
@documented(status=204)
def unlock(nip):
    """Lift a lockout before it runs out."""
    handlers.unlock(db(), nip, authenticate().subject)
    return "", 204


@blueprint.get("/audit")
@require("admin", "ops")
def audit():
    """The audit log of sign-ins, failures, lockouts, resets and codes, newest first (`?nip=`)."""
    return {"entries": handlers.audit_entries(db(), request.args.get("nip"))}


@blueprint.post("/keys/rotate")
@transactional
@require("ops", "admin")
@documented(status=201)
def rotate_keys():
    """Add the next signing key: published now, signing once every service's cached key set holds it."""
    key = _keys().rotate()
    handlers.audit(db(), "key_rotated", None, authenticate().subject, kid=key.kid)
    return {"kid": key.kid, "active_from": key.active_from.isoformat()}, 201
