"""`runtime.kafka_records.PlainRecords` against kafka-python's own fetcher records: the same `ConsumerRecord`s, the
same bookkeeping, the same errors, on fetches of every shape (no broker: fetches built as a broker sends them)."""
import struct

import kafka
import pytest
from kafka.consumer.fetcher import Fetcher
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder
from kafka.record.memory_records import MemoryRecords
from kafka.record.util import calc_crc32c
from kafka.structs import TopicPartition

from runtime.kafka_records import PlainRecords

TP = TopicPartition("attendance.punch.recorded", 2)
ATTRIBUTES = 21  # where a v2 batch's attributes sit; the CRC covers them and everything after
CRC = 17
EPOCH = 12


def _batch(records, base_offset=0, *, log_append=False, compression=0, leader_epoch=7) -> bytes:
    """A v2 batch of `records` ((key, value, headers, timestamp) each) as a broker hands it out."""
    builder = DefaultRecordBatchBuilder(magic=2, compression_type=compression, is_transactional=False,
                                        producer_id=4000, producer_epoch=0, base_sequence=0, batch_size=1 << 30)
    for n, (key, value, headers, timestamp) in enumerate(records):
        builder.append(n, timestamp=timestamp, key=key, value=value, headers=headers)
    data = builder.build()
    struct.pack_into(">q", data, 0, base_offset)
    struct.pack_into(">i", data, EPOCH, leader_epoch)  # set by the broker, outside the CRC
    if log_append:
        attributes, = struct.unpack_from(">h", data, ATTRIBUTES)
        struct.pack_into(">h", data, ATTRIBUTES, attributes | DefaultRecordBatch.TIMESTAMP_TYPE_MASK)
        struct.pack_into(">I", data, CRC, calc_crc32c(memoryview(data)[ATTRIBUTES:]))
    return bytes(data)


def _records(count, seed=0):
    """Keys, values and headers absent, empty, short and long (varints of one, two and three bytes), timestamps
    going back and forth."""
    keys = [None, b"", b"198001012005011000", b"k" * 70, b"\xff" * 9000]
    values = [None, b"", b'{"a": 1}', b"v" * 200, bytes(range(256)) * 300]
    headers = [[], [("error", b"boom")], [("kunci", None), ("", b"")], [("k\u00e9y", b"x" * 130)] * 3]
    base = 1_764_600_000_000
    return [(keys[(n + seed) % len(keys)], values[(n * 3 + seed) % len(values)],
             headers[(n * 7 + seed) % len(headers)], base + ((n * 7919 + seed) % 20000) - 10000) for n in range(count)]


def _fetch():
    """Several batches, as one partition's fetch holds them: plain ones, log-append time, one compressed."""
    return b"".join([
        _batch(_records(5), base_offset=40),
        _batch(_records(130, seed=1), base_offset=45, leader_epoch=8),
        _batch(_records(4, seed=2), base_offset=175, log_append=True),
        _batch(_records(3, seed=3), base_offset=179, compression=DefaultRecordBatch.CODEC_GZIP),
        _batch(_records(6, seed=4), base_offset=182),
    ])


def _read(cls, data, fetch_offset=40, check_crcs=True, chunk=None):
    """Everything `take` gives, chunk by chunk, until the records end or an error: (records, the error's type,
    the bookkeeping after)."""
    records = cls(fetch_offset, TP, MemoryRecords(data), check_crcs=check_crcs)
    taken, error = [], None
    try:
        while records:
            part = records.take(chunk)
            if not part and records:
                break
            taken += part
    except Exception as exc:  # noqa: BLE001 - compared, not handled
        error = type(exc)
    return taken, error, (records.next_fetch_offset, records.records_read, records.bytes_read, records.leader_epoch)


def test_the_kafka_python_version_is_the_one_plain_records_was_checked_against():
    # `PlainRecords` overrides a private generator of kafka-python's fetcher; a new version must pass this module
    assert kafka.__version__ == "3.0.12"


@pytest.mark.parametrize("fetch_offset", [40, 43, 45, 100, 176, 180, 185, 187, 188])
@pytest.mark.parametrize("chunk", [None, 1, 7, 500])
def test_plain_records_are_kafka_pythons_records(fetch_offset, chunk):
    data = _fetch()
    expected = _read(Fetcher.PartitionRecords, data, fetch_offset, chunk=chunk)
    assert expected[1] is None and len(expected[0]) == max(0, 188 - fetch_offset)  # the fetch is valid
    assert _read(PlainRecords, data, fetch_offset, chunk=chunk) == expected


def test_every_field_is_read_as_kafka_python_reads_it():
    records, _, _ = _read(PlainRecords, _fetch())
    assert [r.offset for r in records] == list(range(40, 188))
    assert {r.timestamp_type for r in records} == {0, 1}
    assert {r.leader_epoch for r in records} == {7, 8}
    assert {len(r.value) for r in records if r.value is not None} >= {0, 200, 76800}
    assert any(r.headers and r.serialized_header_size > 0 for r in records)
    assert any(r.key is None and r.serialized_key_size == -1 for r in records)


def test_a_corrupt_fetch_fails_as_kafka_python_fails_it():
    # every byte of a small fetch changed in turn: decoded without the CRC check, so the bytes reach the records
    data = _batch(_records(3), base_offset=9) + _batch(_records(2, seed=2), base_offset=12)
    differing = []
    for at in range(len(data)):
        for flip in (0xFF, 0x01):
            corrupt = data[:at] + bytes([data[at] ^ flip]) + data[at + 1:]
            for check_crcs in (False, True):
                theirs = _read(Fetcher.PartitionRecords, corrupt, 9, check_crcs)
                if _read(PlainRecords, corrupt, 9, check_crcs) != theirs:
                    differing.append((at, flip, check_crcs))
    assert differing == []


def test_consumers_with_deserializers_keep_kafka_pythons_records():
    data = _fetch()
    upper = type("Upper", (), {"deserialize": lambda self, topic, headers, value: value and value.upper()})()
    ours = PlainRecords(40, TP, MemoryRecords(data), value_deserializer=upper)
    theirs = Fetcher.PartitionRecords(40, TP, MemoryRecords(data), value_deserializer=upper)
    assert ours.take() == theirs.take()
