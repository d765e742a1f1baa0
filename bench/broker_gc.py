"""Benchmark: the throwaway broker's CPU per record under each JVM garbage collector.

Starts a throwaway single broker (`runtime.broker.Broker`) with each `--collectors` in turn (alternated, `--rounds`
times), creates a topic of `--partitions` partitions, has one producer with the platform's settings
(`runtime.kafka.make_producer`: idempotent, acks=all) send `--records` records of `--payload` bytes keyed over
300,000 employees, then one consumer (`runtime.kafka.make_consumer`) read them all; reports the broker process's CPU
seconds (from `/proc`) for the produce and the consume, and per record. Needs no database.

    .venv/bin/python bench/broker_gc.py --records 400000 --rounds 2
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "services"))

from attendance_ingest import _cpu_seconds  # noqa: E402 - the bench's own folder, on the path as the script's


def _run(collector: str, records: int, payload: int, partitions: int) -> dict:
    from runtime.broker import Broker
    from runtime.kafka import ensure_topics, make_consumer, make_producer
    broker = Broker(Path(tempfile.mkdtemp(prefix="bench-broker-gc-")), port=29192, controller_port=29193,
                    collector=collector).start()
    try:
        ensure_topics(broker.bootstrap, names=["bench.gc"], partitions=partitions)
        pids, value = [broker.process.pid], "p" * payload
        producer = make_producer(broker.bootstrap, "bench-gc")
        start, began = _cpu_seconds(pids), time.monotonic()
        for i in range(records):
            producer.send("bench.gc", key=str(198001012005000000 + i % 300000), value=value)
        producer.flush()
        produced, produce_s = _cpu_seconds(pids), time.monotonic() - began
        consumer = make_consumer(broker.bootstrap, "bench-gc", "bench-gc-consumer")
        consumer.subscribe(["bench.gc"])
        read = 0
        while read < records:
            read += sum(len(batch) for batch in consumer.poll(timeout_ms=1000).values())
        consumed = _cpu_seconds(pids)
        consumer.close()
        producer.close()
    finally:
        broker.stop()
    return {"collector": collector, "produce_cpu_s": round(produced - start, 2), "consume_cpu_s": round(consumed - produced, 2),
            "cpu_us_per_record": round((consumed - start) / records * 1e6, 1), "produce_s": round(produce_s, 1),
            "load_average": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=400000)
    parser.add_argument("--payload", type=int, default=500, help="bytes per record's value")
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--collectors", nargs="+", default=["-XX:+UseG1GC", "-XX:+UseParallelGC"])
    args = parser.parse_args()
    runs = [_run(collector, args.records, args.payload, args.partitions)
            for _ in range(args.rounds) for collector in args.collectors]
    print(json.dumps({"records": args.records, "payload": args.payload, "partitions": args.partitions, "runs": runs,
                      "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"}, indent=2))


if __name__ == "__main__":
    main()
