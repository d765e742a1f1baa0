"""A three-broker KRaft cluster (replication factor 3, min.insync.replicas=2) from the same jars: one broker
is killed with SIGKILL while events are being written, relayed and applied; every event is applied once and
nothing is dead-lettered. Small heaps and one cluster, for this module only: the machine has two cores."""
import socket
import tempfile
import time
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from runtime.broker import Cluster
from runtime.kafka import ensure_topics
from tests.e2e.ledger import TOPIC, Ledger

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(900)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    home = Path(tempfile.mkdtemp(prefix="kinerja-test-cluster-"))
    cluster = Cluster.at(home, [(_free_port(), _free_port()) for _ in range(3)], heap="384m")
    try:
        cluster.start()
        ensure_topics(cluster.bootstrap, replication=(3, {"min.insync.replicas": "2"}))
        yield cluster
    finally:
        cluster.stop()
        cluster.wipe()


def test_the_topics_have_three_replicas_and_need_two_in_sync(cluster):
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    try:
        deadline = time.monotonic() + 30
        while True:  # a broker that has not yet caught up with the controller describes the new topic bare
            (described,) = admin.describe_topics([TOPIC])
            if described["partitions"] or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert {len(p["replica_nodes"]) for p in described["partitions"]} == {3}
        (by_name,) = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, TOPIC)]).values()
        assert by_name[TOPIC]["min.insync.replicas"]["value"] == "2"
    finally:
        admin.close()


def test_one_broker_killed_under_load_loses_nothing(cluster, pg_server_url):
    ledger = Ledger(pg_server_url)
    try:
        ledger.run_relay(cluster.bootstrap)
        ledger.run_consumer(cluster.bootstrap)
        writer = ledger.publish_in_background(batches=40, per_batch=50, pause_s=0.2)
        deadline = time.monotonic() + 180
        while ledger.applied() < 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert ledger.applied() >= 200, "the pipeline never got going; no broker loss was tested"
        victim = cluster.brokers[0]  # the first bootstrap address: clients must find the others
        victim.kill()
        killed_at = ledger.applied()
        writer.join(timeout=300)
        assert not writer.is_alive()
        assert killed_at < len(ledger.published), "the load ended before the broker was killed"
        ledger.wait_applied(timeout_s=300)
        assert all(thread.is_alive() for thread in ledger.threads if thread is not writer)
        assert ledger.dead_letters(cluster.bootstrap) == 0
    finally:
        ledger.close()
