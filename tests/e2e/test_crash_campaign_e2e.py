"""The crash campaign in CI: 20 random kill -9 of the attendance relay, consumer and ingest job under device
load, plus a broker restart, under `kinerja up`; nothing lost, nothing applied twice, every DLQ empty.
`bench/crash_campaign.py` runs the same campaign at 100 kills and more (figures in docs/RELIABILITY.md)."""
import pytest

from bench.crash_campaign import campaign

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(900)]


def test_twenty_kills_and_a_broker_restart_lose_nothing_and_apply_nothing_twice(pg_server_url):
    report = campaign(pg_server_url, kills=20, devices=1, batches=10, pins=10, pause_s=4.0, seed=14)
    print(report)
    assert report["kills"] == 20 and report["broker_restarts"] == 1
    assert report["acknowledged_lines"] == 10 * 128
    assert report["checks"] == {name: True for name in report["checks"]}, report
