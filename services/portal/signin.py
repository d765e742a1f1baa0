"""Signing people in and keeping their tokens fresh, in the server-side session.

People sign in with their NIP and password through the identity service (`POST /auth/login`); the
portal keeps the access and refresh tokens on the server and refreshes the access token shortly before
it expires. A development sign-in (NIP and roles typed in, a token minted here) exists only when the
portal is started with PORTAL_DEV_SIGNIN=1.
"""
from __future__ import annotations

import time
from typing import Callable

import jwt
import requests

from portal.backend import ServiceError
from portal.config import PortalSettings
from runtime.auth import ROLES

DEV_TOKEN_HOURS = 8
Minter = Callable[[str, list], str]

REFRESH_MARGIN_S = 60


class SignInRefused(Exception):
    """Wrong NIP or password, a locked account, or the identity service unreachable (`reason` says which)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _claims(access_token: str) -> dict:
    # The services verify every token; the portal reads the claims only to lay out the person's pages.
    return jwt.decode(access_token, options={"verify_signature": False})


def _account(tokens: dict) -> dict:
    claims = _claims(tokens["access_token"])
    return {"nip": str(claims["sub"]), "roles": sorted(set(claims.get("roles") or []) & ROLES),
            "access_token": tokens["access_token"], "refresh_token": tokens.get("refresh_token"),
            "expires_at": float(claims.get("exp") or time.time() + float(tokens.get("expires_in", 900)))}


def _identity(settings: PortalSettings, path: str, body: dict) -> requests.Response:
    try:
        return requests.post(settings.identity_url + path, json=body, timeout=15)
    except requests.RequestException:
        raise SignInRefused("unavailable") from None


def sign_in(settings: PortalSettings, nip: str, password: str) -> dict:
    """The signed-in account for `nip` and `password`, or SignInRefused."""
    response = _identity(settings, "/auth/login", {"nip": nip, "password": password})
    if response.status_code == 200:
        return _account(response.json())
    if response.status_code in (423, 429):
        raise SignInRefused("locked")
    if response.status_code in (400, 401, 403, 404, 422):
        raise SignInRefused("wrong")
    raise SignInRefused("unavailable")


def activate(settings: PortalSettings, nip: str, code: str, password: str) -> dict[str, list[str]]:
    """Set the first (or a reset) password with an activation code: {} when set, else {field: message ids}
    (`code` when the code is unknown, used or expired); SignInRefused("unavailable") when identity is down."""
    response = _identity(settings, "/accounts/activate", {"nip": nip, "code": code, "password": password})
    if response.status_code == 204:
        return {}
    if response.status_code in (401, 404):
        return {"code": ["The code is unknown, used or expired: ask your admin for a new one."]}
    if response.status_code == 429:
        raise SignInRefused("locked")
    if response.status_code in (400, 422):
        problem = response.json() if "json" in response.headers.get("Content-Type", "") else {}
        errors: dict[str, list[str]] = {}
        for error in problem.get("errors") or []:
            errors.setdefault(str(error.get("field") or "password"), []).append(str(error.get("message", "")))
        return errors or {"password": ["This password is not accepted."]}
    if response.status_code == 403:
        return {"nip": ["This account is not active."]}
    raise SignInRefused("unavailable")


def dev_sign_in(minter: Minter, nip: str, roles: list[str]) -> dict:
    """Development only: an account with a token minted by `minter` for `nip` and `roles`."""
    return _account({"access_token": minter(nip, sorted(set(roles) & ROLES) or ["staff"]), "refresh_token": None})


def fresh_access_token(settings: PortalSettings, account: dict) -> str:
    """The account's access token, refreshed first when it is about to expire (the account is updated)."""
    if account["expires_at"] - time.time() > REFRESH_MARGIN_S:
        return account["access_token"]
    if not account.get("refresh_token"):
        raise ServiceError(401, "Session expired", "sign in again")
    response = _identity(settings, "/auth/refresh", {"refresh_token": account["refresh_token"]})
    if response.status_code != 200:
        raise ServiceError(401, "Session expired", "sign in again")
    account.update(_account(response.json()))
    return account["access_token"]


def sign_out(settings: PortalSettings, account: dict) -> None:
    """Revoke the account's refresh token at the identity service (best effort: the session goes anyway)."""
    if account.get("refresh_token"):
        try:
            requests.post(settings.identity_url + "/auth/logout", json={"refresh_token": account["refresh_token"]},
                          timeout=5)
        except requests.RequestException:
            pass
