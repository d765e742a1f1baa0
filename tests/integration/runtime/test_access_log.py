"""Every request leaves one structured access line; a refused one carries the reason it was given."""
import logging

import pytest

pytestmark = pytest.mark.postgres

ADMIN = "198001012005011004"


@pytest.fixture
def client(new_database, make_app):
    return make_app("directory", new_database("directory")).test_client()


def _access(caplog):
    return [r for r in caplog.records if r.name == "kinerja.access"]


def test_a_refused_request_is_logged_with_its_status_reason_and_request_id(client, token, caplog):
    caplog.set_level(logging.DEBUG, logger="kinerja.access")
    response = client.put("/units/A", json={"name": "A", "parent_unit_id": "MISSING"},
                          headers={**token(ADMIN, "admin"), "X-Request-ID": "req-422"})
    assert response.status_code == 422
    [line] = _access(caplog)
    assert (line.levelno, line.status, line.request_id, line.endpoint) == (logging.WARNING, 422, "req-422",
                                                                            "/units/<unit_id>")
    assert "parent_unit_id" in [e["field"] for e in line.reason["errors"]]
    assert line.duration_ms >= 0


def test_an_accepted_request_is_logged_without_a_reason_and_probes_only_at_debug(client, token, caplog):
    caplog.set_level(logging.DEBUG, logger="kinerja.access")
    assert client.put("/units/A", json={"name": "A"}, headers=token(ADMIN, "admin")).status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/units/A").status_code == 401
    put, probe, unauthenticated = _access(caplog)
    assert (put.levelno, put.status, put.method) == (logging.INFO, 200, "PUT") and not hasattr(put, "reason")
    assert (probe.levelno, probe.path) == (logging.DEBUG, "/healthz")
    assert unauthenticated.status == 401 and unauthenticated.reason["title"]
