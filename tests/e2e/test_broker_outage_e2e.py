"""Relays and consumers ride out a broker outage: the broker of this test (its own, not the shared one) is
killed and restarted while events are being written; the loops keep running, resume, and every event is
applied exactly once with no dead letter."""
import socket
import tempfile
import time
from pathlib import Path

import pytest

from runtime.broker import Broker
from runtime.kafka import ensure_topics
from tests.e2e.ledger import Ledger

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(600)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def own_broker():
    home = Path(tempfile.mkdtemp(prefix="kinerja-outage-kafka-"))
    broker = Broker(home=home, port=_free_port(), controller_port=_free_port()).start()
    ensure_topics(broker.bootstrap)
    yield broker
    broker.stop()
    broker.wipe()


def test_relay_and_consumer_ride_out_a_broker_restart_under_load(own_broker, pg_server_url):
    ledger = Ledger(pg_server_url)
    try:
        ledger.run_relay(own_broker.bootstrap)
        ledger.run_consumer(own_broker.bootstrap)
        writer = ledger.publish_in_background(batches=40, per_batch=50, pause_s=0.2)
        deadline = time.monotonic() + 120
        while ledger.applied() < 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert ledger.applied() >= 200, "the pipeline never got going; no outage was tested"
        own_broker.kill()
        time.sleep(6)  # the writer goes on: its events wait in the outbox
        applied_during_outage = ledger.applied()
        own_broker.start()
        writer.join(timeout=120)
        assert not writer.is_alive()
        assert applied_during_outage < len(ledger.published), "the load ended before the outage"
        ledger.wait_applied(timeout_s=240)
        assert all(thread.is_alive() for thread in ledger.threads if thread is not writer), \
            "a relay or consumer loop ended during the outage"
        assert ledger.dead_letters(own_broker.bootstrap) == 0
        assert ledger.published_order_kept(), "the relay let an event overtake an earlier one of the same key"
    finally:
        ledger.close()
