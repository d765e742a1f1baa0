"""The signed heads of the audit trail on the real broker: the relay process of a service signs the head of its
audit stream every AUDIT_HEAD_INTERVAL_SECONDS and sends it to the compacted topic `audit.heads`, where
`kinerja audit verify` reads and checks it; a head signed with another key is reported."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from contracts.topics import AUDIT_HEADS
from identity import handlers
from runtime.audit_chain import head, publish_head, streams_of
from runtime.db import make_engine, make_session_factory
from runtime.kafka import make_producer
from runtime.keys import KeyStore
from runtime.operations import read_signed_heads
from runtime.relay import relay_once
from runtime.service import service

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(300)]


def _env(url: str, bootstrap: str, keys_dir) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update(IDENTITY_DATABASE_URL=url, KAFKA_BOOTSTRAP_SERVERS=bootstrap, SIGNING_KEYS_DIR=str(keys_dir),
               AUDIT_HEAD_INTERVAL_SECONDS="1", JWT_ISSUER="http://identity.test")
    return env


def _verify(env: dict, jwks_file) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "runtime.cli", "audit", "verify", "identity", "--jwks", str(jwks_file)],
                          env=env, capture_output=True, text=True, timeout=120)


def test_the_relay_publishes_signed_heads_to_the_compacted_topic_and_verify_checks_them(
        new_database, kafka_bootstrap, tmp_path):
    url = new_database("identity")
    sessions = make_session_factory(make_engine(url), service("identity").metadata)
    stream = streams_of("identity")[0]
    with sessions() as session:
        for attempt in range(3):
            handlers.audit(session, "sign_in_failed", "198001012006041001", remote_addr="10.0.0.1", attempt=attempt)
        session.commit()
        expected = head(session, stream)
    keys = KeyStore(tmp_path / "keys")
    keys.ensure()
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(keys.jwks()))
    env = _env(url, kafka_bootstrap, tmp_path / "keys")

    relay = subprocess.Popen([sys.executable, "-m", "runtime.cli", "relay", "identity"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        heads = {}
        while time.monotonic() < deadline:
            heads = read_signed_heads(kafka_bootstrap)
            if (heads.get(stream.name, {}).get("seq"), heads.get(stream.name, {}).get("hash")) == expected:
                break
            time.sleep(1)
        assert (heads[stream.name]["seq"], heads[stream.name]["hash"]) == expected
    finally:
        relay.send_signal(signal.SIGTERM)
        relay.wait(timeout=60)

    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        (by_name,) = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, AUDIT_HEADS)]).values()
    finally:
        admin.close()
    assert by_name[AUDIT_HEADS]["cleanup.policy"]["value"] == "compact"

    whole = _verify(env, jwks_file)
    assert whole.returncode == 0, whole.stdout + whole.stderr
    assert f"ok      identity.audit_log: 3 record(s) chained, signed head seq 3 matches" in whole.stdout

    # a head for the same stream signed with a key the platform does not publish
    with sessions() as session:
        publish_head(session, stream, KeyStore(tmp_path / "forger").signing_key(), "http://identity.test", "identity")
        session.commit()
    producer = make_producer(kafka_bootstrap, "audit-heads-forger")
    try:
        assert relay_once(sessions, producer, "identity") == 1
    finally:
        producer.close()
    forged = _verify(env, jwks_file)
    assert forged.returncode == 1
    assert "BROKEN  identity.audit_log: seq 3 signature bad" in forged.stdout, forged.stdout
