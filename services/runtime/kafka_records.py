"""A consumer's records decoded in one loop: kafka-python's fetcher, for the batches the platform's topics hold.

kafka-python (3.0.12, pinned in pyproject.toml) turns each fetched record into a `ConsumerRecord` through a stack of
small steps: the batch's `_read_msg` decodes seven varints with a function call each and reads the batch's header
through properties for every record, builds a `DefaultRecord`, and the fetcher's generator reads that record back
through eight more properties, asks it to check a CRC it does not have, and calls two deserializers the consumer does
not set. About 4.7 µs a punch event, nearly a tenth of the attendance consumer's own Python per event.

`PlainRecords` decodes a batch of the kind every producer of the platform writes (message format v2, uncompressed,
not a transaction's control batch) in one loop over its bytes, one- and two-byte varints read inline, and yields the
same `ConsumerRecord`s with the same bookkeeping (`next_fetch_offset`, `records_read`, `bytes_read`, `leader_epoch`) and
the same errors for a corrupt batch. From the first batch of any other kind on, and always for a consumer with
deserializers or reading only committed transactions, kafka-python's own `_unpack_records` does the work.
`tests/unit/runtime/test_kafka_records.py` holds the two to the same output on batches of every shape (keys, values
and headers absent, empty or long, log-append time, offsets from the middle of a batch, corrupt bytes), and pins the
kafka-python version (3.0.12, as `runtime.kafka_appends`' test pins it for the producer): a new one must pass it
before this class is trusted with it.
"""
from __future__ import annotations

from kafka import errors
from kafka.consumer.fetcher import ConsumerRecord, Fetcher
from kafka.record.default_records import DefaultRecordBatch
from kafka.record.util import decode_varint
from kafka.protocol.consumer.offsets import IsolationLevel


class _Rest:
    """A fetch's batches from `first` on (kafka-python's `MemoryRecords.next_batch` interface)."""

    def __init__(self, first, records):
        self.first, self.records = first, records

    def next_batch(self):
        batch, self.first = self.first, None
        return batch if batch is not None else self.records.next_batch()


def _plain(batch) -> bool:
    """A message format v2 batch, uncompressed, holding records (not a transaction marker)."""
    return batch.magic == 2 and batch.compression_type == DefaultRecordBatch.CODEC_NONE and not batch.is_control_batch


class PlainRecords(Fetcher.PartitionRecords):
    """kafka-python's parsed records of one partition's fetch, plain batches decoded in one loop (module doc)."""

    def _unpack_records(self, tp, records, key_deserializer, value_deserializer):
        if key_deserializer is not None or value_deserializer is not None \
                or self.isolation_level != IsolationLevel.READ_UNCOMMITTED:
            return super()._unpack_records(tp, records, key_deserializer, value_deserializer)
        return self._plain_batches(tp, records)

    def _plain_batches(self, tp, records):
        batch = records.next_batch()
        last = None
        while batch is not None:
            if not _plain(batch):  # kafka-python's own way from here on, this batch included
                yield from super()._unpack_records(tp, _Rest(batch, records), None, None)
                return
            last = batch
            if self.check_crcs and not batch.validate_crc():
                raise errors.CorruptRecordError("Record batch for partition %s at offset %s failed crc check" % (
                    self.topic_partition, batch.base_offset))
            self.leader_epoch = batch.leader_epoch
            yield from self._records(tp, batch)
            batch = records.next_batch()
        if last is not None:
            self.next_fetch_offset = last.next_offset
        self.drain()

    def _records(self, tp, batch, record=ConsumerRecord, varint=decode_varint):
        """The batch's records, each decoded as `DefaultRecordBatch._read_msg` does and made into the
        `ConsumerRecord` the fetcher makes of it."""
        topic, partition, epoch = tp.topic, tp.partition, self.leader_epoch
        base_offset, first_timestamp, count = batch.base_offset, batch.first_timestamp, batch.records_count
        timestamp_type = batch.timestamp_type
        log_append = timestamp_type == DefaultRecordBatch.LOG_APPEND_TIME
        max_timestamp = batch.max_timestamp
        buffer = bytes(batch._buffer)  # noqa: SLF001 - the batch's bytes (its header then its records)
        pos = DefaultRecordBatch.HEADER_STRUCT.size
        try:
            for _ in range(count):
                b = buffer[pos]
                if b < 0x80:
                    length, pos = (b >> 1) ^ -(b & 1), pos + 1
                elif buffer[pos + 1] < 0x80:  # two bytes
                    b = (b & 0x7F) | buffer[pos + 1] << 7
                    length, pos = (b >> 1) ^ -(b & 1), pos + 2
                else:
                    length, pos = varint(buffer, pos)
                start = pos
                pos = pos + 1 if buffer[pos] < 0x80 else varint(buffer, pos)[1]  # attributes, unused
                b = buffer[pos]
                if b < 0x80:
                    timestamp_delta, pos = (b >> 1) ^ -(b & 1), pos + 1
                else:
                    timestamp_delta, pos = varint(buffer, pos)
                b = buffer[pos]
                if b < 0x80:
                    offset_delta, pos = (b >> 1) ^ -(b & 1), pos + 1
                else:
                    offset_delta, pos = varint(buffer, pos)
                b = buffer[pos]
                if b < 0x80:
                    key_size, pos = (b >> 1) ^ -(b & 1), pos + 1
                else:
                    key_size, pos = varint(buffer, pos)
                if key_size >= 0:
                    key = buffer[pos:pos + key_size]
                    pos += key_size
                else:
                    key = None
                b = buffer[pos]
                if b < 0x80:
                    value_size, pos = (b >> 1) ^ -(b & 1), pos + 1
                elif buffer[pos + 1] < 0x80:  # two bytes
                    b = (b & 0x7F) | buffer[pos + 1] << 7
                    value_size, pos = (b >> 1) ^ -(b & 1), pos + 2
                else:
                    value_size, pos = varint(buffer, pos)
                if value_size >= 0:
                    value = buffer[pos:pos + value_size]
                    pos += value_size
                else:
                    value = None
                if buffer[pos] == 0:  # no headers
                    headers, header_size, pos = [], -1, pos + 1
                else:
                    header_count, pos = varint(buffer, pos)
                    headers, header_size, pos = self._headers(buffer, pos, header_count)
                if pos - start != length:
                    raise errors.CorruptRecordError("Invalid record size: expected to read {} bytes in record "
                                                    "payload, but instead read {}".format(length, pos - start))
                offset = base_offset + offset_delta
                self.records_read += 1
                self.bytes_read += length
                self.next_fetch_offset = offset + 1
                yield record(topic, partition, epoch, offset,
                             max_timestamp if log_append else first_timestamp + timestamp_delta, timestamp_type,
                             key, value, headers, None, -1 if key is None else key_size,
                             -1 if value is None else value_size, header_size)
        except (ValueError, IndexError) as err:
            raise errors.CorruptRecordError("Found invalid record structure: {!r}".format(err)) from None
        if pos != len(buffer):
            raise errors.CorruptRecordError("{} unconsumed bytes after all records consumed".format(len(buffer) - pos))

    @staticmethod
    def _headers(buffer: bytes, pos: int, count: int, varint=decode_varint):
        """(headers, their size as the fetcher counts it, the position after them)."""
        if count < 0:
            raise errors.CorruptRecordError("Found invalid number of record headers {}".format(count))
        headers = []
        for _ in range(count):
            key_size, pos = varint(buffer, pos)
            if key_size < 0:
                raise errors.CorruptRecordError("Invalid negative header key size {}".format(key_size))
            key = buffer[pos:pos + key_size].decode("utf-8")
            pos += key_size
            value_size, pos = varint(buffer, pos)
            if value_size >= 0:
                value = buffer[pos:pos + value_size]
                pos += value_size
            else:
                value = None
            headers.append((key, value))
        size = sum(len(key.encode("utf-8")) + (len(value) if value is not None else 0) for key, value in headers)
        return headers, size, pos


def decode_plainly(consumer) -> None:
    """Have a KafkaConsumer's fetcher parse its fetches with `PlainRecords` (that consumer only)."""
    consumer._fetcher.PartitionRecords = PlainRecords  # noqa: SLF001 - `Fetcher._parse_fetched_data` builds them
