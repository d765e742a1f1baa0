"""The relay's way to hand records to the producer (`Producer.send_all`) on a real broker: each record lands
where, and as, `send` puts it, each key's records in the order sent; what it leaves to `send` (a topic the
producer has not seen, a record too large, a closed producer) behaves as `send` does."""
import uuid

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import IllegalStateError, MessageSizeTooLargeError

from runtime.kafka import ensure_topics, make_producer, murmur2

pytestmark = pytest.mark.kafka


def _topic(kafka: str, partitions: int = 6) -> str:
    name = f"test.send-keyed.{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka, [name], partitions=partitions, with_dead_letters=False)
    return name


def _read(kafka: str, topic: str, count: int) -> dict[int, list[tuple[bytes, bytes]]]:
    """Every partition's records as (key, value), in offset order."""
    consumer = KafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False, consumer_timeout_ms=10000)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        found: dict[int, list] = {p.partition: [] for p in partitions}
        for n, record in enumerate(consumer, start=1):
            found[record.partition].append((record.key, record.value))
            if n == count:
                break
        return found
    finally:
        consumer.close()


def _send_all(producer, topic: str, records) -> list:
    """`records` (key, value) handed over as the relay hands a read's rows, 500 at a time."""
    acks = []
    for start in range(0, len(records), 500):
        keys, values = zip(*records[start:start + 500])
        acks += producer.send_all([topic] * len(keys), keys, values)
    return acks


def test_records_handed_over_by_send_all_land_as_send_puts_them_in_order(kafka_bootstrap):
    together, plain = _topic(kafka_bootstrap), _topic(kafka_bootstrap)
    records = [(f"1980010120050110{n % 40:02d}", f'{{"n": {n}, "é": "ü"}}') for n in range(1200)]
    producer = make_producer(kafka_bootstrap, "send-all-test")
    try:
        producer.send(together, key="warm", value="{}").get(timeout=60)  # both topics known to the producer's metadata
        producer.send(plain, key="warm", value="{}").get(timeout=60)
        plain_send, handed_to_send = producer.send, []

        def send(topic, **record):
            handed_to_send.append(topic)
            return plain_send(topic, **record)
        producer.send = send  # send_all's own way, not send's, for every record of a known topic
        acks = _send_all(producer, together, records)
        futures = [producer.send(plain, key=key, value=value) for key, value in records]
        assert together not in handed_to_send and len(handed_to_send) == len(records)
        producer.flush(timeout=60)
        assert all(ack.is_done and not ack.failed() and ack.get(timeout=0) is None for ack in acks)
        assert len({id(ack) for ack in acks}) < len(records) // 10  # one for the records appended to a batch at once
        for (key, _), future in zip(records, futures):
            assert future.get(timeout=0).partition == (murmur2(key.encode()) & 0x7FFFFFFF) % 6
    finally:
        producer.close()
    landed = _read(kafka_bootstrap, together, len(records) + 1)
    expected = _read(kafka_bootstrap, plain, len(records) + 1)
    assert landed == expected  # the same bytes on the same partitions, in the same order
    for key in {key for key, _ in records}:
        sent = [value.encode() for k, value in records if k == key]
        assert [v for records_of in landed.values() for k, v in records_of if k == key.encode()] == sent


def test_what_send_all_leaves_to_send_behaves_as_send_in_its_place(kafka_bootstrap):
    producer = make_producer(kafka_bootstrap, "send-all-test")
    known = _topic(kafka_bootstrap, partitions=1)
    try:
        producer.send(known, key="warm", value="{}").get(timeout=60)
        unseen = _topic(kafka_bootstrap, partitions=3)  # not in the producer's metadata yet: send waits for it
        key = "198001012005011001"
        acks = producer.send_all([known, unseen, known], [key, key, key], ["1", "2", "3"])
        assert acks[1].get(timeout=60).partition == (murmur2(key.encode()) & 0x7FFFFFFF) % 3  # send's future
        with pytest.raises(MessageSizeTooLargeError):  # refused before it is appended, as by send
            producer.send_all([unseen], [key], ["x" * producer.config["max_request_size"]])
        producer.flush(timeout=60)
        assert acks[0].is_done and not acks[0].failed() and acks[2].get(timeout=0) is None
    finally:
        producer.close()
    with pytest.raises(IllegalStateError):
        producer.send_all([unseen], [key], ["{}"])
    assert [v for _, v in _read(kafka_bootstrap, known, 3)[0]] == [b"{}", b"1", b"3"]
