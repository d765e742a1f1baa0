"""The on-call's tools on a real broker: `kinerja dlq` shows, replays (once, whatever the repeats) and
discards parked events, auditing each; `kinerja status` reads the running services and exits non-zero
when something needs attention."""
import os
import subprocess
import sys
import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, insert
from werkzeug.serving import make_server

from runtime.consumer import EventConsumer
from runtime.events import make_event
from runtime.kafka import ensure_topics, make_consumer, make_producer
from runtime.operations import DeadLetterDesk
from tests.e2e.conftest import applied as _applied, drain as _drain

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
broken = {"on": True}


def _record_name(session, event):
    if broken["on"]:
        raise RuntimeError("the reference this event needs is not there yet")
    session.execute(insert(session.info["metadata"].tables["applied"]).values(event_id=event.event_id,
                                                                               name=event.data["name"]))


def test_a_parked_event_is_shown_replayed_once_and_every_action_is_audited(consumer_db, kafka_bootstrap):
    topic = f"test.ops.{uuid.uuid4().hex[:8]}"
    dlq = f"{topic}.dlq"
    ensure_topics(kafka_bootstrap, [topic], partitions=1)
    producer = make_producer(kafka_bootstrap, "test")
    kafka_consumer = make_consumer(kafka_bootstrap, f"test-{uuid.uuid4().hex[:8]}", "test")
    kafka_consumer.subscribe([topic])
    consumer = EventConsumer("test", kafka_consumer, producer, consumer_db, {"directory.holiday.upserted": _record_name},
                             max_attempts=2, retry_backoff_s=0.01)
    desk = DeadLetterDesk(kafka_bootstrap)
    try:
        broken["on"] = True
        event = make_event("directory.holiday.upserted", "2026-08-17", {"date": "2026-08-17", "name": "Kemerdekaan"}, "t")
        producer.send(topic, key=event.key, value=event.to_json()).get(timeout=30)
        _drain(consumer, lambda: len(desk.waiting(dlq)) == 1)
        [parked] = desk.waiting(dlq)
        shown = parked.view()
        assert (shown["source_topic"], shown["consumer"], shown["key"]) == (topic, "test", "2026-08-17")
        assert "not there yet" in shown["error"] and event.event_id in shown["value"]

        broken["on"] = False  # the cause is fixed: replay
        assert [r.offset for r in desk.replay(dlq, 5, "reference loaded", actor="oncall")] == [parked.offset]
        assert desk.waiting(dlq) == [] and desk.replay(dlq, 5, "again") == []  # the cursor moved past it
        _drain(consumer, lambda: _applied(consumer_db) == ["Kemerdekaan"])

        # parked a second time (a redelivery, a second park) and replayed again: the inbox drops it
        producer.send(dlq, key=parked.key, value=parked.value,
                      headers=[(k, v.encode()) for k, v in parked.headers.items()]).get(timeout=30)
        assert len(desk.replay(dlq, 5, "replayed twice by mistake", actor="oncall")) == 1
        later = make_event("directory.holiday.upserted", "2026-12-25", {"date": "2026-12-25", "name": "Natal"}, "t")
        producer.send(topic, key=later.key, value=later.to_json()).get(timeout=30)
        _drain(consumer, lambda: "Natal" in _applied(consumer_db))
        assert sorted(_applied(consumer_db)) == ["Kemerdekaan", "Natal"]

        producer.send(topic, key="x", value=b"{not an event").get(timeout=30)  # can never be applied
        _drain(consumer, lambda: len(desk.waiting(dlq)) == 1)
        with pytest.raises(ValueError, match="reason"):
            desk.discard(dlq, 1, " ")
        assert len(desk.discard(dlq, 1, "malformed by its producer", actor="oncall")) == 1
        assert desk.waiting(dlq) == []

        trail = [e for e in desk.audit_trail(200) if e["dead_letter"]["topic"] == dlq]
        assert [(e["action"], e["by"], e["reason"]) for e in trail] == [
            ("replay", "oncall", "reference loaded"), ("replay", "oncall", "replayed twice by mistake"),
            ("discard", "oncall", "malformed by its producer")]
        assert trail[0]["source"]["topic"] == topic and trail[0]["replayed_to"] == topic
    finally:
        broken["on"] = True
        desk.close()
        kafka_consumer.close()


def test_status_reads_the_running_services_and_exits_non_zero_on_a_problem(new_database, make_app, kafka_bootstrap):
    from directory.tables import outbox
    url = new_database("directory")
    app = make_app("directory", url, kafka=kafka_bootstrap)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(os.environ, DIRECTORY_URL=f"http://127.0.0.1:{server.server_port}", IDENTITY_URL="http://127.0.0.1:1",
               KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap)

    def status(*names):
        return subprocess.run([sys.executable, "-m", "runtime.cli", "status", *names, "--timeout", "30"], env=env,
                              capture_output=True, text=True, timeout=120)

    try:
        healthy = status("directory")
        assert healthy.returncode == 0, healthy.stdout + healthy.stderr
        assert "directory   ready" in healthy.stdout and "OK: nothing needs attention" in healthy.stdout

        sessions = app.extensions["kinerja"].sessions
        with sessions() as session, session.begin():  # a row the relay should have sent ten minutes ago
            event = make_event("directory.holiday.upserted", "2026-08-17", {"date": "2026-08-17", "name": "X"}, "t")
            session.execute(insert(outbox).values(event_id=event.event_id, topic=event.topic, key=event.key,
                                                  type=event.type, payload=event.to_json(),
                                                  created_at=datetime.now(timezone.utc) - timedelta(minutes=10)))
        stuck = status("directory", "identity")  # identity is not running
        assert stuck.returncode == 1
        assert "directory: outbox not draining" in stuck.stdout and "identity: does not answer" in stuck.stdout
        with sessions() as session, session.begin():
            session.execute(delete(outbox))
    finally:
        server.shutdown()
