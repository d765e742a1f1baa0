"""The backend-for-frontend: calls the services' public HTTP APIs with the signed-in person's token."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

TIMEOUT_S = 30


@dataclass
class ServiceError(Exception):
    """A service answered with a problem (or did not answer): status, title, detail and field errors."""

    status: int
    title: str
    detail: str = ""
    errors: list[dict] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.status} {self.title}: {self.detail}"

    def field_errors(self) -> dict[str, str]:
        """{field: message} of the problem's field errors."""
        out: dict[str, str] = {}
        for error in self.errors:
            name = str(error.get("field") or "")
            out[name] = "; ".join(filter(None, (out.get(name), str(error.get("message", "")))))
        return out


@dataclass
class Reply:
    """A successful answer: status, body (JSON decoded when JSON), raw bytes and content type."""

    status: int
    body: Any
    content: bytes
    content_type: str
    headers: dict


class Backend:
    """One HTTP session to every service, with the caller's bearer token on each call."""

    def __init__(self, urls: dict[str, str], token: str | None):
        self.urls, self.token, self.http = urls, token, requests.Session()

    def call(self, service: str, method: str, path: str, *, json=None, params=None, files=None, data=None,
             content_type: str | None = None) -> Reply:
        """Send one request; return the reply, or raise ServiceError for any status of 400 or more."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            response = self.http.request(method, self.urls[service] + path, json=json, params=params, files=files,
                                         data=data, headers=headers, timeout=TIMEOUT_S)
        except requests.RequestException as exc:
            raise ServiceError(503, "Service unavailable", f"{service}: {exc.__class__.__name__}") from None
        body: Any = None
        if "json" in response.headers.get("Content-Type", ""):
            try:
                body = response.json()
            except ValueError:
                body = None
        if response.status_code >= 400:
            problem = body if isinstance(body, dict) else {}
            raise ServiceError(response.status_code, problem.get("title") or response.reason or "Error",
                               problem.get("detail") or "", list(problem.get("errors") or []))
        return Reply(response.status_code, body, response.content, response.headers.get("Content-Type", ""),
                     dict(response.headers))

    def get(self, service: str, path: str, **params) -> Any:
        """GET a JSON resource."""
        return self.call(service, "GET", path, params={k: v for k, v in params.items() if v is not None}).body

    def post(self, service: str, path: str, json=None, **kwargs) -> Any:
        """POST and return the JSON answer."""
        return self.call(service, "POST", path, json=json, **kwargs).body

    def put(self, service: str, path: str, json=None, **kwargs) -> Any:
        """PUT and return the JSON answer."""
        return self.call(service, "PUT", path, json=json, **kwargs).body
