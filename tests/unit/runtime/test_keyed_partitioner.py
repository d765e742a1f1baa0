"""The producer's partitioner chooses what kafka-python's default (the Java clients' murmur2) chooses, for every
key and partition count: its faster hash changes nothing of where a key's records go."""
import random

from kafka.partitioner.default import DefaultPartitioner, murmur2 as kafka_murmur2

from runtime.kafka import KeyedPartitioner, murmur2


class Cluster:
    """The metadata a partitioner asks: a topic's partitions, all of them available."""

    def __init__(self, partitions: dict[str, set[int]]):
        self.partitions = partitions

    def topics(self):
        return set(self.partitions)

    def partitions_for_topic(self, topic):
        return self.partitions.get(topic)

    def available_partitions_for_topic(self, topic):
        return self.partitions.get(topic, set())


def test_every_key_goes_where_the_default_partitioner_sends_it():
    rng = random.Random(17)
    keys = [str(198001012005011000 + n).encode() for n in range(2000)] + \
        [bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 40))) for _ in range(2000)] + ["ünit-é".encode()]
    ours, default = KeyedPartitioner(), DefaultPartitioner()
    for count in (1, 2, 3, 6, 7, 12, 50):
        cluster = Cluster({"attendance.punches": set(range(count))})
        for key in keys:
            assert ours.partition("attendance.punches", None, key, None, None, cluster) == \
                default.partition("attendance.punches", None, key, None, None, cluster)


def test_a_record_without_key_goes_to_an_available_partition():
    cluster = Cluster({"directory.units": {0, 1, 2}})
    assert {KeyedPartitioner().partition("directory.units", None, None, None, None, cluster) for _ in range(50)} <= {0, 1, 2}


def test_the_hash_is_kafkas_murmur2_for_every_length():
    rng = random.Random(3)
    for length in range(0, 70):
        for _ in range(50):
            key = bytes(rng.getrandbits(8) for _ in range(length))
            assert murmur2(key) & 0x7FFFFFFF == kafka_murmur2(key) & 0x7FFFFFFF


def test_a_key_hashed_before_goes_where_the_default_sends_it_after_its_hash_was_let_go_or_the_topic_grew():
    rng = random.Random(5)
    keys = [str(198001012005011000 + rng.randrange(300)).encode() for _ in range(3000)]  # repeats, 300 distinct
    ours, default = KeyedPartitioner(cached_keys=64), DefaultPartitioner()  # most hashes let go before asked again
    for count in (3, 6, 3, 7):  # the same keys again after the topic's partitions changed
        cluster = Cluster({"attendance.days": set(range(count))})
        for key in keys:
            assert ours.partition("attendance.days", None, key, None, None, cluster) == \
                default.partition("attendance.days", None, key, None, None, cluster)


def test_a_key_given_as_a_bytearray_or_memoryview_goes_where_its_bytes_go():
    cluster = Cluster({"attendance.days": set(range(6))})
    ours, default = KeyedPartitioner(), DefaultPartitioner()
    for n in range(200):
        key = str(198001012005011000 + n).encode()
        expected = default.partition("attendance.days", None, key, None, None, cluster)
        assert ours.partition("attendance.days", None, bytearray(key), None, None, cluster) == expected
        assert ours.partition("attendance.days", None, memoryview(key), None, None, cluster) == expected
