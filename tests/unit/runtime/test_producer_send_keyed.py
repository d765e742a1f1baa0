"""What `runtime.kafka.Producer.send_keyed` leaves out of kafka-python's `send` holds for the kafka-python it was
read against: the version pinned, and a record's size as it estimates it. (Records sent both ways on a real broker:
tests/e2e/test_messaging_producer_e2e.py.)"""
import random

import kafka
from kafka.producer.kafka import KafkaProducer
from kafka.record.default_records import DefaultRecordBatchBuilder

from runtime.kafka import RECORD_OVERHEAD_BOUND


def test_kafka_python_is_the_version_send_keyed_was_read_against():
    # send_keyed calls kafka-python's record accumulator itself (`KafkaProducer.send`'s last step) and skips
    # the checks that cannot fail for a keyed record of a known topic: a new version must be read again first
    assert kafka.__version__ == "3.0.12"


def test_a_record_estimated_within_the_bound_is_never_refused_by_send_for_its_size():
    rng = random.Random(11)
    sizes = [0, 1, 18, 127, 128, 129, 16383, 16384, 16385, 2097151, 2097152, 2097153] + \
        [rng.randrange(0, 3_000_000) for _ in range(50)]
    for key_size in (0, 1, 18, 127, 128, 200, 16384):
        for value_size in sizes:
            key, value = b"k" * key_size, b"v" * value_size
            estimated = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, [])
            assert estimated <= key_size + value_size + RECORD_OVERHEAD_BOUND
    assert KafkaProducer.max_usable_produce_magic((2, 8)) == 2  # the estimate send uses for these brokers
