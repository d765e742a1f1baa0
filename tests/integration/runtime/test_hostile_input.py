"""Hostile input gets a 4xx problem+json naming what is wrong, never a 500 (issue 14, item 2): a serial that
is not one, JSON nested 100,000 deep, imports of bytes in no text encoding and 10 MB of random bytes."""
import io
import os
import random

import pytest

from tests.conftest import service_clients

pytestmark = pytest.mark.postgres

ADMIN = "198001012005011004"
STAFF = "198503122010011002"
DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
NOT_TEXT = bytes(range(0x80, 0x100)) * 40  # 0x81, 0x8d, ... are neither UTF-8 nor Windows-1252


@pytest.fixture(scope="module")
def clients(pg_server_url):
    """Attendance, directory and activities on their own databases (shared by this module's tests)."""
    with service_clients(pg_server_url, ("attendance", "directory", "activities")) as clients:
        yield clients


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data()[:300]
    assert response.mimetype == "application/problem+json"
    return response.json


@pytest.mark.parametrize("path", ["/devices/S%C3%A9RIAL%E2%82%AC/disable", "/devices/%F0%9F%98%80/disable",
                                  "/devices/A%20B/disable"])
def test_a_serial_that_is_not_one_is_refused_naming_it(clients, token, path):
    admin = token(ADMIN, "admin")
    assert _problem(clients["attendance"].post(path, headers=admin), 400)["errors"][0]["field"] == "serial"
    _problem(clients["attendance"].post(path.replace("disable", "approve"), json={"zone": "Asia/Jakarta"},
                                        headers=admin), 404)  # never called, as any unknown serial
    for view in ("rejected", "commands", "users", "reconciliation"):
        assert clients["attendance"].get(path.replace("disable", view), headers=admin).status_code < 500


@pytest.mark.parametrize("service, method, path", [
    ("attendance", "post", "/punches"), ("directory", "put", f"/employees/{ADMIN}"),
    ("directory", "put", "/units/DISKOMINFO"), ("activities", "post", "/entries"),
    ("attendance", "post", "/devices")])
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["array", "object"])
def test_json_nested_100000_deep_is_malformed(clients, token, service, method, path, body):
    response = getattr(clients[service], method)(path, data=body, content_type="application/json",
                                                  headers=token(ADMIN, "admin", "staff"))
    assert "nests deeper" in _problem(response, 400)["detail"]


@pytest.mark.parametrize("service, path", [("directory", "/roster/imports"), ("activities", "/catalogue/imports")])
def test_imports_of_bytes_in_no_text_encoding_name_the_file(clients, token, service, path):
    admin = token(ADMIN, "admin")
    for body in (NOT_TEXT, b"nip;nama\n\x00\x00\x00;x\n"):
        assert _problem(clients[service].post(path, data=body, content_type="text/csv", headers=admin),
                        422)["errors"][0]["field"] == "file"
    multipart = clients[service].post(path, data={"file": (io.BytesIO(NOT_TEXT), "r.csv")},
                                      headers=admin)
    assert _problem(multipart, 422)["errors"][0]["field"] == "file"


@pytest.mark.parametrize("service, path", [("directory", "/roster/imports"), ("activities", "/catalogue/imports")])
def test_imports_of_10_mb_of_random_bytes_are_refused_and_smaller_garbage_is_reported(clients, token, service, path):
    admin = token(ADMIN, "admin")
    _problem(clients[service].post(path, data=os.urandom(10 * 1024 * 1024), content_type="text/csv",
                                   headers=admin), 413)
    _problem(clients[service].post(path, data={"file": (io.BytesIO(os.urandom(10 * 1024 * 1024)), "r.csv")},
                                   headers=admin), 413)
    rng = random.Random(14)
    text_bytes = bytes(b for b in range(1, 256) if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D))  # Windows-1252
    garbage = bytes(rng.choice(text_bytes) for _ in range(200_000))
    report = clients[service].post(path, data=garbage, content_type="text/csv", headers=admin)
    assert report.status_code == 200 and report.json["rows_accepted"] == 0 and report.json["errors"]


def test_other_roles_meet_a_4xx_too(clients, token):
    """Whether the role or the body is refused first, a caller of another role never meets a 500."""
    staff = token(STAFF, "staff")
    assert clients["attendance"].post("/punches", data=DEEP, content_type="application/json",
                                      headers=staff).status_code in (400, 403)
    assert clients["directory"].put(f"/employees/{STAFF}", data=DEEP, content_type="application/json",
                                    headers=staff).status_code in (400, 403)
    assert clients["directory"].post("/roster/imports", data=NOT_TEXT, content_type="text/csv",
                                     headers=staff).status_code in (403, 422)
