"""`runtime.kafka_appends` writes into kafka-python's batches what kafka-python's own `RecordAccumulator.append` writes
there, record by record (the same batches, the same bytes), for the kafka-python it was read against; its `Acks` tell
what the records' futures would, a batch split by the sender included. (Through a broker:
tests/e2e/test_messaging_producer_e2e.py.)"""
import random

import kafka
import pytest
from kafka.errors import KafkaTimeoutError, NotLeaderForPartitionError
from kafka.producer.kafka import KafkaProducer
from kafka.producer.record_accumulator import RecordAccumulator
from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.structs import TopicPartition

from runtime.kafka import RECORD_OVERHEAD_BOUND
from runtime.kafka_appends import Acks, append_keyed, watch_splits

NOW = 1_764_000_000_000
TPS = [TopicPartition("t", 0), TopicPartition("t", 1), TopicPartition("u", 0)]


def test_kafka_python_is_the_version_the_appends_were_read_against():
    # append_keyed writes kafka-python's batches itself (`RecordAccumulator.append`, `DefaultRecordBatchBuilder.append`)
    # and keeps its list of record futures: a new version must be read again first
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


def _records(count: int, seed: int = 5):
    """(partition, key, value): lengths across the varints' one-, two- and three-byte sizes, some above a batch's."""
    rng = random.Random(seed)
    sizes = [0, 1, 63, 64, 65, 600, 8191, 8192, 8193, 20000]
    return [(rng.choice(TPS), b"k" * rng.choice([0, 1, 18, 63, 64, 200]) + str(n).encode(),
             bytes(rng.randrange(256) for _ in range(rng.choice(sizes)))) for n in range(count)]


def _accumulator(batch_size: int = 16384) -> RecordAccumulator:
    return RecordAccumulator(batch_size=batch_size, linger_ms=5)


def _appended_by_kafka(accumulator, records):
    return [accumulator.append(tp, NOW, key, value, [])[0] for tp, key, value in records]


def _appended_here(accumulator, records):
    groups, acks = {}, [None] * len(records)
    for n, (tp, key, value) in enumerate(records):
        groups.setdefault(tp, []).append((n, key, value))
    append_keyed(accumulator, groups, acks, NOW)
    return acks


def _batches(accumulator):
    """Each partition's batches, closed: (records, bytes), in order."""
    found = {}
    for tp, batches in accumulator._batches.items():
        for batch in batches:
            batch.records.close()
            found.setdefault(tp, []).append((batch.record_count, bytes(batch.records.buffer())))
    return found


@pytest.mark.parametrize("batch_size", [256, 16384, 256 * 1024])
def test_the_batches_written_are_kafka_pythons_own(batch_size):
    records = _records(400)
    theirs, ours = _accumulator(batch_size), _accumulator(batch_size)
    _appended_by_kafka(theirs, records)
    _appended_here(ours, records[:150])  # two rounds, the second appended to the first's open batches
    _appended_here(ours, records[150:])
    assert _batches(ours) == _batches(theirs)
    assert sum(len(batches) for batches in _batches(ours).values()) > (3 if batch_size < 256 * 1024 else 2)


def test_rounds_mixed_with_records_appended_one_by_one_keep_the_order():
    records = _records(120, seed=8)
    theirs, ours = _accumulator(), _accumulator()
    _appended_by_kafka(theirs, records)
    _appended_by_kafka(ours, records[:30])
    _appended_here(ours, records[30:90])
    _appended_by_kafka(ours, records[90:])
    assert _batches(ours) == _batches(theirs)
    for batch in ours._batches[TPS[0]]:  # one future or `Acks` per record, index by index, as a split reads them
        assert len(batch._record_futures) == batch.record_count


def test_a_batch_drained_is_not_appended_to():
    accumulator = _accumulator()
    _appended_here(accumulator, [(TPS[0], b"a", b"1")])
    drained = accumulator._batches[TPS[0]][0]
    drained.records.close()  # as the sender's drain does
    acks = _appended_here(accumulator, [(TPS[0], b"b", b"2")])
    assert len(accumulator._batches[TPS[0]]) == 2 and acks[0].future is accumulator._batches[TPS[0]][1].produce_future


def test_acks_tell_what_the_records_futures_tell():
    accumulator = _accumulator()
    records = [(TPS[0], b"a", b"1"), (TPS[1], b"b", b"2"), (TPS[0], b"c", b"3")]
    futures = _appended_by_kafka(accumulator, records)
    acks = _appended_here(accumulator, records)
    assert acks[0] is acks[2] and acks[0] is not acks[1]  # one per batch appended to
    assert not acks[0].is_done and acks[0].exception is None
    with pytest.raises(KafkaTimeoutError):
        acks[0].get(timeout=0.01)
    first, second = accumulator._batches[TPS[0]][0], accumulator._batches[TPS[1]][0]
    first.complete(10, -1)
    second.complete_exceptionally(NotLeaderForPartitionError(), lambda index: NotLeaderForPartitionError(index))
    assert futures[0].is_done and not futures[0].failed()
    assert acks[0].is_done and not acks[0].failed() and acks[0].get(timeout=0) is None
    assert futures[1].failed() and acks[1].is_done and acks[1].failed()
    assert isinstance(acks[1].exception, NotLeaderForPartitionError)
    assert acks[1].exception.args == (1,)  # its first record's error: the batch's second (kafka-python's came first)
    with pytest.raises(NotLeaderForPartitionError):
        acks[1].get(timeout=0)


def test_acks_follow_their_records_into_a_split_batch():
    accumulator = _accumulator()
    watch_splits(accumulator)
    records = [(TPS[0], f"k{n}".encode(), b"v" * 100) for n in range(10)]
    futures = _appended_by_kafka(accumulator, records[:3])
    acks = _appended_here(accumulator, records[3:])
    batch = accumulator._batches[TPS[0]].popleft()
    batch.records.close()
    accumulator.split_and_reenqueue(batch)  # as the sender does when the broker refuses a batch as too large
    first_half = accumulator._batches[TPS[0]].popleft()
    second_half = accumulator._batches[TPS[0]].popleft()
    second_half.records.close()
    accumulator.split_and_reenqueue(second_half)  # the second half split again
    halves = [first_half, *accumulator._batches[TPS[0]]]
    assert [half.record_count for half in halves] == [5, 3, 2]
    assert all(len(half._record_futures) == half.record_count for half in halves)
    halves[0].complete(0, -1)
    halves[2].complete(8, -1)
    assert futures[0].is_done and not acks[0].is_done  # two of its records wait for the middle batch
    with pytest.raises(KafkaTimeoutError):
        acks[0].get(timeout=0.01)
    halves[1].complete_exceptionally(NotLeaderForPartitionError(), lambda index: NotLeaderForPartitionError(index))
    assert acks[0].is_done and acks[0].failed() and isinstance(acks[0].exception, NotLeaderForPartitionError)


def test_a_split_of_a_batch_not_watched_is_refused_not_lost():
    accumulator = _accumulator()  # not watched: the split would lose track of the records
    _appended_here(accumulator, [(TPS[0], b"a", b"1"), (TPS[0], b"b", b"2")])
    batch = accumulator._batches[TPS[0]].popleft()
    batch.records.close()
    with pytest.raises(kafka.errors.IllegalStateError):
        accumulator.split_and_reenqueue(batch)
    assert isinstance(batch._record_futures[0], Acks)
