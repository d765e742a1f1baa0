"""One small client interface over either live HTTP services or in-process Flask test clients."""
from __future__ import annotations

import json as jsonlib
import time
from dataclasses import dataclass
from typing import Any, Callable


class ApiError(RuntimeError):
    """A call that answered with an unexpected status."""


@dataclass
class Response:
    """Status and decoded body of one call."""

    status: int
    body: Any


class Api:
    """Calls one service; subclasses send the request."""

    name = "service"

    def call(self, method: str, path: str, token: str | None = None, json=None, data: bytes | None = None,
             content_type: str | None = None, params: dict | None = None, files: dict | None = None) -> Response:
        """Send one request and return its status and body (JSON decoded when it is JSON).

        `files` is {field: (file name, bytes)} for a multipart upload.
        """
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if content_type:
            headers["Content-Type"] = content_type
        return self._send(method, path, headers, json, data, params or {}, files)

    def ok(self, method: str, path: str, token: str | None = None, expect=(200, 201), **kwargs) -> Any:
        """Call and insist on a success status; return the body."""
        response = self.call(method, path, token, **kwargs)
        if response.status not in expect:
            raise ApiError(f"{self.name}: {method} {path} answered {response.status}: {response.body}")
        return response.body

    def _send(self, method, path, headers, json, data, params, files) -> Response:
        raise NotImplementedError


class HttpApi(Api):
    """A service listening at `base_url`."""

    def __init__(self, name: str, base_url: str):
        import requests
        self.name, self.base_url, self.session = name, base_url.rstrip("/"), requests.Session()

    def _send(self, method, path, headers, json, data, params, files) -> Response:
        response = self.session.request(method, self.base_url + path, headers=headers, json=json, data=data,
                                        params=params, files=files, timeout=60)
        try:
            body = response.json()
        except ValueError:
            body = response.text
        return Response(response.status_code, body)


class FlaskApi(Api):
    """A service's Flask app, called in-process."""

    def __init__(self, name: str, app):
        self.name, self.client = name, app.test_client()

    def _send(self, method, path, headers, json, data, params, files) -> Response:
        if files:
            import io
            data = {field: (io.BytesIO(content), name) for field, (name, content) in files.items()}
        response = self.client.open(path, method=method, headers=headers, json=json, data=data, query_string=params)
        body = response.get_json(silent=True)
        return Response(response.status_code, body if body is not None else response.get_data(as_text=True))


def wait_until(what: str, probe: Callable[[], Any], timeout_s: float = 120.0, interval_s: float = 0.5):
    """Poll `probe` until it returns something truthy (events travel asynchronously); raise after the timeout."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval_s)
    raise TimeoutError(f"timed out after {timeout_s:.0f}s waiting for {what} (last: {jsonlib.dumps(last, default=str)[:300]})")
