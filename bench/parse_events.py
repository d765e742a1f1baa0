"""Micro-benchmark: µs to parse one consumed event (`runtime.events.parse_event`) over wire events of the
attendance punch and day kinds, made in memory with `make_events` (no database, no broker).

    PYTHONPATH=services python bench/parse_events.py --events 20000 --rounds 5
    PYTHONPATH=services python bench/parse_events.py --events 40000 --rounds 5 --kafka

Prints per event type the best and median µs per parse over the rounds, and a fingerprint of what was parsed
(the same fingerprint before and after a change to parsing means the same events came out). With `--kafka` the
events are first produced to a throwaway broker (keyed, as the relay sends them, on the topics' default partitions)
and each round polls them all back with a consumer of `runtime.kafka.make_consumer` and parses them: µs of the
process's CPU per record (kafka-python's network thread included), polled only and polled and parsed, and the
fingerprint of the parsed events (in event id order: the partitions interleave differently from run to run).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import time
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from runtime.events import make_events, parse_event

FIRST_NIP = 198001012006041001
OCCURRED_AT = datetime(2026, 11, 2, 9, 0, 0, 123456, tzinfo=UTC)


def _wires(events) -> list[bytes]:
    """The events' wire forms, with event ids numbered (so the fingerprint is the same from run to run)."""
    return [replace(e, event_id=str(uuid.UUID(int=n + 1, version=4))).to_json().encode() for n, e in enumerate(events)]


def _punches(count: int) -> list[bytes]:
    items = []
    for n in range(count):
        local = datetime(2026, 11, 2, 6, 30) + timedelta(minutes=n % 80, seconds=n % 60)
        nip = str(FIRST_NIP + n % 5000)
        items.append((nip, {"punch_id": str(n + 1), "employee_id": nip, "device_serial": "BENCH", "pin": str(n),
                            "source": "adms", "at": (local - timedelta(hours=7)).replace(tzinfo=UTC),
                            "local_time": local, "zone": "Asia/Jakarta", "local_date": local.date(),
                            "device_status": 0, "verify": 1}))
    return _wires(make_events("attendance.punch.recorded", items, "bench", occurred_at=OCCURRED_AT))


def _days(count: int) -> list[bytes]:
    items = []
    for n in range(count):
        nip = str(FIRST_NIP + n % 5000)
        day = date(2026, 11, 2) + timedelta(days=n // 5000)
        start = datetime(day.year, day.month, day.day, 0, 30, tzinfo=UTC)
        items.append((nip, {"employee_id": nip, "local_date": day, "zone": "Asia/Jakarta", "version": 1,
                            "status": "late" if n % 3 else "present", "scheduled_start": start,
                            "scheduled_end": start + timedelta(hours=8), "scheduled_minutes": 480,
                            "clock_in": start + timedelta(minutes=n % 40), "clock_out": start + timedelta(hours=9),
                            "presence_minutes": 500, "late_minutes": n % 40, "early_leave_minutes": 0,
                            "overtime_minutes": 0, "late_band": "TL1" if n % 3 else None, "early_band": None,
                            "missing_clock_in": False, "missing_clock_out": False,
                            "punch_ids": [str(2 * n + 1), str(2 * n + 2)]}))
    return _wires(make_events("attendance.day.built", items, "bench", occurred_at=OCCURRED_AT))


def _fingerprint(parsed) -> str:
    digest = hashlib.sha256()
    for event in parsed:
        digest.update(repr((event.event_id, event.type, event.version, event.occurred_at, event.producer, event.key,
                            sorted(event.data.items()), event.topic)).encode())
    return digest.hexdigest()[:16]


def _polled(wires: list[bytes], rounds: int) -> dict:
    """Each round: a new consumer assigned every partition of the wires' topic from its beginning polls them all
    back, its records' values parsed or not (alternate rounds). µs of the process's CPU per record."""
    from kafka.structs import TopicPartition

    from attendance_ingest import throwaway_kafka
    from runtime.consumer import collect_for_polls
    from runtime.kafka import ensure_topics, make_consumer, make_producer
    first = parse_event(wires[0])
    collect_for_polls()  # the collector as `EventConsumer.run` sets it
    with throwaway_kafka() as (bootstrap, _):
        ensure_topics(bootstrap, [first.topic], with_dead_letters=False)
        producer = make_producer(bootstrap, "bench-parse")
        for wire in wires:
            producer.send(first.topic, key=json.loads(wire)["key"], value=wire)
        producer.flush()
        producer.close()
        timings = {"poll_us": [], "poll_and_parse_us": []}
        parsed = []
        for round_ in range(2 * rounds):
            parse = round_ % 2 == 1
            consumer = make_consumer(bootstrap, None, "bench-parse")
            partitions = sorted(consumer.partitions_for_topic(first.topic))
            consumer.assign([TopicPartition(first.topic, p) for p in partitions])
            consumer.seek_to_beginning()
            polled, parsed = 0, []
            started = time.process_time()
            while polled < len(wires):
                records = [record for batch in consumer.poll(timeout_ms=1000).values() for record in batch]
                polled += len(records)
                if parse:
                    parsed += [parse_event(record.value) for record in records]
            timings["poll_and_parse_us" if parse else "poll_us"].append((time.process_time() - started) * 1e6 / polled)
            consumer.close()
    result = {name: {"best": round(min(t), 2), "median": round(statistics.median(t), 2)} for name, t in timings.items()}
    result["fingerprint"] = _fingerprint(sorted(parsed, key=lambda event: event.event_id))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--kafka", action="store_true", help="poll the events back from a throwaway broker too")
    args = parser.parse_args()
    result = {}
    for kind, wires in (("punch", _punches(args.events)), ("day", _days(args.events))):
        if args.kafka:
            result[f"{kind}_polled"] = _polled(wires, args.rounds)
        timings = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            parsed = [parse_event(w) for w in wires]
            timings.append((time.perf_counter() - started) * 1e6 / len(wires))
        result[kind] = {"best_us": round(min(timings), 2), "median_us": round(statistics.median(timings), 2),
                        "fingerprint": _fingerprint(parsed)}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
