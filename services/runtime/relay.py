"""The outbox relay: publishes committed outbox rows with an idempotent producer, then marks them sent.

A crash after the publish and before the mark re-sends those rows on restart; consumers drop the
duplicates through their inbox. A crash before the publish loses nothing: the rows stay unsent.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone

from prometheus_client import Counter
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from runtime.kafka import Backoff

log = logging.getLogger(__name__)
RELAYED = Counter("kinerja_outbox_relayed_total", "Outbox rows published to Kafka", ["service"])
PUBLISH_ERRORS = Counter("kinerja_outbox_publish_errors_total", "Relay batches that failed (retried)", ["service"])


def relay_once(sessions: sessionmaker[Session], producer, service: str, batch_size: int = 500,
               send_timeout_s: float = 30.0) -> int:
    """Publish one batch of unsent outbox rows in order; return how many were sent."""
    with sessions() as session:
        outbox = session.info["metadata"].tables["outbox"]
        query = select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.payload) \
            .where(outbox.c.sent_at.is_(None)).order_by(outbox.c.id).limit(batch_size)
        if session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = session.execute(query).all()
        if not rows:
            return 0
        futures = [producer.send(row.topic, key=row.key, value=row.payload) for row in rows]
        producer.flush(timeout=send_timeout_s)
        for future in futures:
            future.get(timeout=send_timeout_s)  # raises if the broker did not acknowledge
        session.execute(update(outbox).where(outbox.c.id.in_([r.id for r in rows]))
                        .values(sent_at=datetime.now(timezone.utc)))
        session.commit()
    RELAYED.labels(service).inc(len(rows))
    return len(rows)


def run_relay(sessions: sessionmaker[Session], producer, service: str, stop: threading.Event,
              idle_wait_s: float = 0.2, backoff: Backoff | None = None) -> None:
    """Relay until `stop` is set; wait briefly when the outbox is empty, and with a growing pause while the
    broker or the database fails (an outage never ends the loop; the rows stay unsent until it is over)."""
    backoff = backoff or Backoff()
    while not stop.is_set():
        try:
            sent = relay_once(sessions, producer, service)
        except Exception as exc:  # noqa: BLE001 - the rows stay unsent and are retried
            PUBLISH_ERRORS.labels(service).inc()
            pause = backoff.failed()
            log.warning("relay batch failed; retrying", extra={"service": service, "error": repr(exc),
                                                                "retry_in_s": pause})
            stop.wait(pause)
            continue
        backoff.reset()
        if not sent:
            stop.wait(idle_wait_s)
