"""Kafka clients built one way for the whole platform (kafka-python)."""
from __future__ import annotations

import functools
import logging
import os
import struct
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError
from kafka.partitioner.default import DefaultPartitioner
from kafka.serializer import Serializer
from kafka.structs import TopicPartition

from contracts import topics as topic_names
from runtime.kafka_appends import append_keyed, watch_splits

log = logging.getLogger(__name__)
DEFAULT_PARTITIONS = 3


class Utf8(Serializer):
    """Keys are strings; values are already-encoded bytes or JSON strings."""

    def serialize(self, topic, headers, data):
        return data if isinstance(data, bytes) or data is None else data.encode("utf-8")


class Backoff:
    """Pauses that double from `first_s` up to `max_s` while failures go on; `reset()` after a success."""

    def __init__(self, first_s: float = 0.5, max_s: float = 10.0):
        self.first_s = first_s
        self.max_s = max_s
        self.next_s = first_s

    def failed(self) -> float:
        """The pause to take after one more failure."""
        pause, self.next_s = self.next_s, min(self.next_s * 2, self.max_s)
        return pause

    def reset(self) -> None:
        """The next failure starts again from the first pause."""
        self.next_s = self.first_s


# The producer's settings, chosen by bench/relay.py (figures in docs/PERFORMANCE.md, "The outbox relay"):
# acks=all and idempotence are the guarantees and are not tuned; at most 5 requests in flight per connection is
# what idempotence allows while keeping each partition's order across retries. linger and batch size let one
# request carry hundreds of events when the relay drains a backlog, and cost at most `linger_ms` when idle.
PRODUCER_SETTINGS = dict(acks="all", enable_idempotence=True, retries=10, max_in_flight_requests_per_connection=5,
                         linger_ms=5, batch_size=256 * 1024, compression_type=None)


class KeyedPartitioner(DefaultPartitioner):
    """kafka-python's default choice of a keyed record's partition (murmur2 of the key, as the Java clients
    choose), hashed by `murmur2` here: kafka-python's own loops over the key a byte at a time, 4.7 µs for an
    employee's NIP, about a tenth of the relay's time. The partition is the default's for every key and count.

    The hashes of the last `cached_keys` keys are kept (an employee's punch, day and flag events are sent within
    moments of each other; 65,536 NIPs take about 12 MB): the hash, not the partition, so a topic given more
    partitions is partitioned anew."""

    def __init__(self, cached_keys: int = 1 << 16):
        super().__init__()
        self.positive_hash = functools.lru_cache(maxsize=cached_keys)(_positive_murmur2)

    def partition(self, topic, key, serialized_key, value, serialized_value, cluster):
        partitions = cluster.partitions_for_topic(topic) if serialized_key is not None else None
        if not partitions:  # no key (a random partition), or a topic the metadata does not know: the default's way
            return super().partition(topic, key, serialized_key, value, serialized_value, cluster)
        return self.choose(partitions, serialized_key)

    def choose(self, partitions: set[int], serialized_key) -> int:
        """The partition of a topic's `partitions` (every one, available or not) for a key."""
        hashed = self.positive_hash(serialized_key) if serialized_key.__class__ is bytes \
            else _positive_murmur2(serialized_key)  # a bytearray or memoryview is not a cache's key
        return sorted(partitions)[hashed % len(partitions)]


def _positive_murmur2(data) -> int:
    return murmur2(data) & 0x7FFFFFFF


_M = 0x5BD1E995
_WORDS = struct.Struct("<I").iter_unpack


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 of `data` (as `kafka.partitioner.default.murmur2` and the Java clients compute it), its
    four-byte words read by `struct` (2.7 µs for a NIP instead of 4.7)."""
    length = len(data)
    h = 0x9747B28C ^ length
    whole = length & ~3
    for (k,) in _WORDS(data[:whole]):
        k = (k * _M) & 0xFFFFFFFF
        k = ((k ^ (k >> 24)) * _M) & 0xFFFFFFFF
        h = ((h * _M) & 0xFFFFFFFF) ^ k
    tail = length & 3
    if tail:
        if tail == 3:
            h ^= data[whole + 2] << 16
        if tail >= 2:
            h ^= data[whole + 1] << 8
        h = ((h ^ data[whole]) * _M) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * _M) & 0xFFFFFFFF
    return h ^ (h >> 15)


# A record's size as kafka-python 3.0.12 estimates it (`DefaultRecordBatchBuilder.estimate_size_in_bytes`: a batch's
# header, 61 bytes, a record's overhead, 21, and the key's, the value's and the header count's varints, 11 at most),
# less the key's and the value's bytes: at most this.
RECORD_OVERHEAD_BOUND = 93


class Producer(KafkaProducer):
    """kafka-python's producer (pinned: `pyproject.toml`), with `send_all` for the outbox relay's records."""

    def __init__(self, **configs):
        super().__init__(**configs)
        # What `send_all` leaves out of `send` holds only for a producer that is not transactional, partitions
        # keyed records with `KeyedPartitioner`, serializes with `Utf8` (as `send_all` encodes) and writes
        # uncompressed batches of the v2 format (brokers from 0.11), which `runtime.kafka_appends` writes
        self._keyed = isinstance(self.config["partitioner"], KeyedPartitioner) and \
            isinstance(self.config["key_serializer"], Utf8) and isinstance(self.config["value_serializer"], Utf8) and \
            self.config["transactional_id"] is None and self.config["compression_type"] is None and \
            self.max_usable_produce_magic(self.config["api_version"]) == 2
        if self._keyed:
            watch_splits(self._accumulator)

    def send_all(self, topics, keys, values) -> list:
        """`send(topic, key=key, value=value)` for each record (`topics`, `keys` and `values` side by side), in
        order: the same partitions, the same bytes, each partition's records in the order given. Returns, for each
        record, what tells when the broker acknowledged it (`runtime.kafka_appends.Acks`, shared by the records that
        went into one batch, or `send`'s future), each with `is_done`, `failed()`, `exception` and `get(timeout)`.

        The relay hands every outbox row to the producer, and `send` spends about 20 µs of Python a record, of its
        thread and the sender's, on what a round of keyed records of known topics does not need one by one: the
        arguments' checks, the partition's lock, the record's bytes a varint at a time and a future for each record,
        completed by the sender. Here the records are grouped by partition and appended in one loop each
        (`runtime.kafka_appends.append_keyed`), with one timestamp and one wake-up of the sender for the call.
        Anything else goes through `send`, in its place in the order: no key, a topic the metadata does not know
        yet (`send` waits for it), an internal topic, a record that may be too large (`send` refuses it), a
        closed producer."""
        if not self._keyed or self._closed:
            return [self.send(topic, key=key, value=value) for topic, key, value in zip(topics, keys, values)]
        acks: list = [None] * len(topics)
        groups: dict[TopicPartition, list] = {}
        targets: dict[str, list | None] = {}  # each topic's partitions, in order
        positive_hash = self.config["partitioner"].positive_hash
        largest = self.config["max_request_size"] - RECORD_OVERHEAD_BOUND
        for n, (topic, key, value) in enumerate(zip(topics, keys, values)):
            key_bytes = key.encode() if key.__class__ is str else key
            value_bytes = value.encode() if value.__class__ is str else value
            partitions = targets.get(topic, False)
            if partitions is False:
                partitions = targets[topic] = self._partitions(topic)
            if partitions is None or key_bytes.__class__ is not bytes or value_bytes.__class__ is not bytes \
                    or len(key_bytes) + len(value_bytes) > largest:
                if groups:  # what came before it first, so each partition keeps the order given
                    self._append(groups, acks)
                    groups = {}
                acks[n] = self.send(topic, key=key, value=value)
                continue
            partition = partitions[positive_hash(key_bytes) % len(partitions)]  # `KeyedPartitioner.choose`'s
            group = groups.get(partition)
            if group is None:
                group = groups[partition] = []
            group.append((n, key_bytes, value_bytes))
        if groups:
            self._append(groups, acks)
        return acks

    def _partitions(self, topic: str) -> list | None:
        """A known, not internal, topic's partitions (`TopicPartition`s, by number); None for `send` to handle."""
        partitions = self._metadata.partitions_for_topic(topic)
        if not partitions or topic in self._metadata.internal_topics:
            return None
        return [TopicPartition(topic, partition) for partition in sorted(partitions)]

    def _append(self, groups: dict, acks: list) -> None:
        if append_keyed(self._accumulator, groups, acks, int(time.time() * 1000)):
            self._sender.wakeup()


def make_producer(bootstrap: str, client_id: str, **overrides) -> Producer:
    """An idempotent producer that waits for every in-sync replica (`acks=all`), with PRODUCER_SETTINGS
    (`overrides` for a benchmark comparing settings), each keyed record's partition chosen by `KeyedPartitioner`."""
    return Producer(bootstrap_servers=bootstrap, client_id=client_id, key_serializer=Utf8(),
                    value_serializer=Utf8(), **dict(PRODUCER_SETTINGS, partitioner=KeyedPartitioner(), **overrides))


# Records a poll hands the consumer at most: a batched consumer (`runtime.consumer.ManyHandler`) reads and writes a
# poll's events with a handful of statements, so a backlog drains in big polls, whose fixed cost per statement and
# round trip is shared by more events: the attendance consumer applied 8,100-8,800 punch events/s in polls of
# 1,000, 9,600-9,900 in polls of 2,000 and 10,800 in polls of 4,000 (bench/punch_to_flag.py --part apply, an idle
# machine; docs/PERFORMANCE.md). 4,000 punch events are about 3 MB, what one fetch brings from three partitions
# at the default 1 MB per partition; a consumer that has caught up gets what is there, so small polls stay quick.
MAX_POLL_RECORDS = 4000


def make_consumer(bootstrap: str, group_id: str | None, client_id: str, **overrides) -> KafkaConsumer:
    """A consumer that never commits by itself: offsets are committed after the database commit. Its fetches are
    decoded by `runtime.kafka_records.PlainRecords` (the same records as kafka-python's, in half the time)."""
    from runtime.kafka_records import decode_plainly
    options = dict(
        bootstrap_servers=bootstrap, group_id=group_id, client_id=client_id, enable_auto_commit=False,
        auto_offset_reset="earliest", max_poll_records=MAX_POLL_RECORDS, session_timeout_ms=10000,
        heartbeat_interval_ms=3000, consumer_timeout_ms=float("inf"),
    )
    options.update(overrides)
    consumer = KafkaConsumer(**options)
    decode_plainly(consumer)
    return consumer


def topic_settings(env: dict | None = None) -> tuple[int, dict]:
    """(replication factor, topic configs) for the platform's topics: `KAFKA_REPLICATION_FACTOR` (default 1, a
    single local broker; 3 on a real cluster) and `KAFKA_MIN_INSYNC_REPLICAS` (unset: the broker's default;
    2 on a real cluster, so an `acks=all` write is on two brokers before it is acknowledged)."""
    env = os.environ if env is None else env
    replication = int(env.get("KAFKA_REPLICATION_FACTOR", "1"))
    configs = {}
    if env.get("KAFKA_MIN_INSYNC_REPLICAS"):
        configs["min.insync.replicas"] = str(int(env["KAFKA_MIN_INSYNC_REPLICAS"]))
    return replication, configs


def topic_partitions(env: dict | None = None) -> int:
    """How many partitions the platform's topics get: `KAFKA_PARTITIONS` (default 3). Every event is keyed by
    the employee (or the unit, the device, the run) it is about, so a key's events stay in order on one
    partition, and a consumer group has at most this many members doing work: size it for the consumer
    instances a service will ever run (docs/SCALING.md). Raising it later moves keys between partitions."""
    env = os.environ if env is None else env
    partitions = int(env.get("KAFKA_PARTITIONS", str(DEFAULT_PARTITIONS)))
    if partitions < 1:
        raise ValueError("KAFKA_PARTITIONS must be at least 1")
    return partitions


def ensure_topics(bootstrap: str, names=topic_names.ALL, partitions: int | None = None,
                  with_dead_letters: bool = True, replication: tuple[int, dict] | None = None) -> None:
    """Create the platform's topics (compacted for reference data) and their dead-letter topics if missing, with
    `partitions` (by default `topic_partitions()`) and `replication` (factor, configs; by default
    `topic_settings()`), from the environment."""
    factor, configs = replication or topic_settings()
    partitions = partitions or topic_partitions()
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="kinerja-admin")
    try:
        existing = set(admin.list_topics())
        wanted = []
        for name in names:
            config = dict(configs, **({"cleanup.policy": "compact"} if name in topic_names.COMPACTED else {}))
            wanted.append(NewTopic(name, partitions, factor, topic_configs=config))
            if with_dead_letters:
                wanted.append(NewTopic(topic_names.dead_letter(name), 1, factor, topic_configs=dict(configs)))
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            try:
                admin.create_topics(missing)
            except TopicAlreadyExistsError:
                log.info("topics created concurrently by another process")
    finally:
        admin.close()


def broker_answers(bootstrap: str, timeout_s: float = 3.0) -> bool:
    """Whether a broker answers a metadata request."""
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="kinerja-ready",
                                 request_timeout_ms=int(timeout_s * 1000), bootstrap_timeout_ms=int(timeout_s * 1000))
    except Exception:  # noqa: BLE001 - any failure to connect means "not ready"
        return False
    try:
        admin.describe_cluster()
        return True
    except Exception:  # noqa: BLE001
        return False
    finally:
        admin.close()
