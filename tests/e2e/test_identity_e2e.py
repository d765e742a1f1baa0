"""The roster reaches the identity service over the real broker: an employee added in the directory gets
an account, activates it with a code from an admin, signs in, and the directory accepts the token."""
import threading
import uuid

import pytest

from runtime.db import make_engine, make_session_factory
from runtime.kafka import make_producer
from runtime.relay import run_relay
from runtime.service import service
from runtime.workers import build_consumer
from scenarios.clients import wait_until
from tests.conftest import make_settings

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def test_an_employee_of_the_roster_signs_in_and_calls_the_directory(new_database, make_app, new_nip, token,
                                                                    kafka_bootstrap):
    directory_url, identity_url = new_database("directory"), new_database("identity")
    directory = make_app("directory", directory_url, kafka_bootstrap).test_client()
    identity = make_app("identity", identity_url, kafka_bootstrap).test_client()
    admin = token(new_nip(), "admin")
    unit, nip = f"U{uuid.uuid4().hex[:8]}", new_nip()
    assert directory.put(f"/units/{unit}", json={"name": "Dinas Uji"}, headers=admin).status_code == 200
    assert directory.put(f"/employees/{nip}", json={"name": "Siti Aminah", "unit_id": unit, "status": "PNS",
                                                    "zone": "Asia/Jakarta"}, headers=admin).status_code == 200
    stop = threading.Event()
    sessions = make_session_factory(make_engine(directory_url), service("directory").metadata)
    consumer = build_consumer("identity", make_settings("identity", identity_url, kafka_bootstrap),
                              group_suffix=f"-e2e-{uuid.uuid4().hex[:8]}")
    threads = [threading.Thread(target=run_relay, daemon=True, args=(
                   sessions, make_producer(kafka_bootstrap, "directory-relay-e2e"), "directory", stop)),
               threading.Thread(target=consumer.run, args=(stop,), daemon=True)]
    for thread in threads:
        thread.start()
    try:
        wait_until("the account", lambda: identity.get(f"/accounts/{nip}", headers=admin).status_code == 200)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert identity.get(f"/accounts/{nip}", headers=admin).json["roles"] == ["staff"]
    code = identity.post(f"/accounts/{nip}/activation-codes", headers=admin).json["code"]
    assert identity.post("/accounts/activate", json={"nip": nip, "code": code, "password": "sate-padang-88"}
                         ).status_code == 204
    tokens = identity.post("/auth/login", json={"nip": nip, "password": "sate-padang-88"}).json
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = directory.get("/me", headers=bearer)
    assert me.status_code == 200 and me.json["employee"]["name"] == "Siti Aminah"

    # signed out: identity's relay publishes the revocation, the directory's consumer projects it, and the
    # directory refuses the access token long before it expires
    assert identity.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]}).status_code == 204
    identity_sessions = make_session_factory(make_engine(identity_url), service("identity").metadata)
    consumer = build_consumer("directory", make_settings("directory", directory_url, kafka_bootstrap),
                              group_suffix=f"-e2e-{uuid.uuid4().hex[:8]}")
    stop = threading.Event()
    threads = [threading.Thread(target=run_relay, daemon=True, args=(
                   identity_sessions, make_producer(kafka_bootstrap, "identity-relay-e2e"), "identity", stop)),
               threading.Thread(target=consumer.run, args=(stop,), daemon=True)]
    for thread in threads:
        thread.start()
    try:
        wait_until("the directory refuses the signed-out token",
                   lambda: directory.get("/me", headers=bearer).status_code == 401)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert "signed out or revoked" in directory.get("/me", headers=bearer).json["detail"]
