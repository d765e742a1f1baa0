"""Rebuilding a local projection from compacted topics, read from the beginning to their current end."""
from __future__ import annotations

import logging
import time
from typing import Callable

from kafka.structs import TopicPartition

from runtime.events import Event, InvalidEvent, parse_event
from runtime.kafka import make_consumer

log = logging.getLogger(__name__)


def replay(bootstrap: str, topics: list[str], apply: Callable[[Event], None], client_id: str = "kinerja-replay",
           timeout_s: float = 60.0) -> int:
    """Apply every valid event on `topics` (no consumer group, no commits); return how many were applied.

    Reads each partition up to the end offset seen at the start, so it finishes even while producers write.
    """
    consumer = make_consumer(bootstrap, None, client_id)
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        if not partitions:
            return 0
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        remaining = {tp for tp in partitions if end[tp] > 0}
        applied = 0
        deadline = time.monotonic() + timeout_s
        while remaining and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=500).items():
                for record in records:
                    if record.offset >= end[tp]:
                        continue
                    try:
                        apply(parse_event(record.value))
                        applied += 1
                    except InvalidEvent as exc:
                        log.warning("skipping invalid event during replay", extra={"topic": tp.topic, "error": str(exc)})
            remaining = {tp for tp in remaining if consumer.position(tp) < end[tp]}
        if remaining:
            raise TimeoutError(f"replay did not reach the end of {sorted(str(tp) for tp in remaining)}")
        return applied
    finally:
        consumer.close()
