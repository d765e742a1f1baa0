"""The platform's consumers read from a real broker exactly the records kafka-python's own fetcher reads."""
import uuid

import pytest
from kafka import KafkaConsumer
from kafka.structs import TopicPartition

from runtime.kafka import ensure_topics, make_consumer, make_producer
from runtime.kafka_records import PlainRecords

pytestmark = [pytest.mark.kafka]


def _all(consumer, topic: str, count: int) -> list:
    consumer.assign([TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))])
    consumer.seek_to_beginning()
    records = []
    while len(records) < count:
        records += [r for batch in consumer.poll(timeout_ms=2000).values() for r in batch]
    consumer.close()
    return sorted(records, key=lambda r: (r.partition, r.offset))


def test_make_consumer_reads_the_records_kafka_python_reads(kafka_bootstrap):
    topic = f"test.records.{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka_bootstrap, [topic], partitions=3, with_dead_letters=False)
    producer = make_producer(kafka_bootstrap, "test-records")
    sent = []
    for n in range(3000):  # several batches per partition; keys, values and headers of every kind
        key = None if n % 11 == 0 else f"198001012005{n % 97:06d}"
        value = b"x" * (n % 300) + f'{{"n": {n}}}'.encode()
        if n % 17 == 0:
            value = b""
        if n % 13 == 0 and key is not None:
            value = None
        headers = [("error", b"boom"), ("kunci", b"")] if n % 5 == 0 else []
        sent.append(producer.send(topic, key=key, value=value, headers=headers))
    producer.flush()
    for future in sent:
        future.get(timeout=30)
    producer.close()

    ours = make_consumer(kafka_bootstrap, None, "test-records-ours")
    assert ours._fetcher.PartitionRecords is PlainRecords
    theirs = KafkaConsumer(bootstrap_servers=kafka_bootstrap, client_id="test-records-theirs", enable_auto_commit=False)
    read = _all(ours, topic, 3000)
    assert len(read) == 3000
    assert read == _all(theirs, topic, 3000)
    assert sum(1 for r in read if r.headers) == 600
    assert sum(1 for r in read if r.value is None) == 210 and sum(1 for r in read if r.key is None) == 273
