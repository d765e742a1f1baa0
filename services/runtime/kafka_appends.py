"""A round of keyed records appended to kafka-python's batches in one loop: the producer's side of what
`runtime.kafka_records` does for the consumer.

kafka-python (3.0.12, pinned in pyproject.toml) appends a record to its partition's batch through a stack of small
steps (`RecordAccumulator.append`: two `AtomicInteger` locks and the partition's lock; `ProducerBatch.try_append`;
`MemoryRecordsBuilder.append`; `DefaultRecordBatchBuilder.append`: the record's bytes a varint at a time, a
`DefaultRecordMetadata`) and gives each record a `FutureRecordMetadata`, which registers two callbacks on its batch's
future and which the producer's sender thread completes with a `RecordMetadata` of its own when the batch is
acknowledged. About 10 µs a record of the relay's thread and the sender's, half the relay's Python per outbox row.

`append_keyed` appends a round's records the same way into the same batches: each partition's records in one loop
under the partition's lock (the record's bytes as kafka-python writes them, but one timestamp for the round), a new
batch when one fills (as kafka-python opens it), the sender woken once. Sequence numbers are still given by
kafka-python when a batch is drained, so idempotence and each partition's order are kafka-python's, retries
included. Instead of a future per record, the records appended to one batch in one go share one `Acks`: acknowledged
when the batch is. kafka-python keeps a list of its records' futures in each batch, index by index, for the one
case that reads it (a batch the broker refused as too large is split and its records' futures moved to the halves:
`RecordAccumulator.split_and_reenqueue`); the `Acks` stands in that list for each of its records, and `_split` gives
it a place per record before such a split (`watch_splits`), so it follows its records into the halves.
`tests/unit/runtime/test_kafka_appends.py` holds the bytes to kafka-python's own and pins its version;
`tests/e2e/test_messaging_producer_e2e.py` sends records both ways through a broker.
"""
from __future__ import annotations

import functools
import time
from itertools import repeat

from kafka import errors
from kafka.producer.producer_batch import ProducerBatch
from kafka.record.memory_records import MemoryRecordsBuilder
from kafka.record.util import encode_varint
from kafka.util import Timer


class Acks:
    """Whether the broker acknowledged the records appended to one batch in one go: `FutureRecordMetadata`'s
    `is_done`, `failed()`, `exception` and `get(timeout)`, for all of them at once (`get` returns None)."""

    __slots__ = ("future", "first", "moved")

    def __init__(self, future, first: int):
        self.future = future  # the batch's `FutureProduceResult`: done when the broker answered for it
        self.first = first  # the index of its first record in the batch
        self.moved: list[_Moved] | None = None  # after a split (`_split`): where each record went

    def _futures(self):
        return [self.future] if self.moved is None else [record.future for record in self.moved]

    @property
    def is_done(self) -> bool:
        if self.moved is None:
            return self.future.is_done
        return all(record.future.is_done for record in self.moved)

    @property
    def exception(self) -> Exception | None:
        """The first refused record's error (None while not done, or when every record was acknowledged)."""
        for n, future in enumerate(self._futures()):
            if future.is_done:
                if future.failed():
                    return future.exception
                refused = future.value[2]  # a batch done with an error: `ProducerBatch.done`'s record_exceptions_fn
                if refused is not None:
                    return refused(self.moved[n].index if self.moved is not None else self.first)
        return None

    def failed(self) -> bool:
        if self.moved is None:  # (the common case, asked of every batch: without `exception`'s list)
            future = self.future
            return future.is_done and (future.exception is not None or future.value[2] is not None)
        return self.exception is not None

    def get(self, timeout: float | None = None) -> None:
        """Wait until done; raise its error, or KafkaTimeoutError after `timeout` seconds."""
        timer = Timer(timeout * 1000 if timeout is not None else None)
        while not self.is_done:
            waiting = next(future for future in self._futures() if not future.is_done)
            if timer.expired or not waiting.wait(timer.timeout_secs):
                raise errors.KafkaTimeoutError(f"Timeout after waiting for {timeout} secs.")
        exception = self.exception
        if exception is not None:
            raise exception

    def rebind(self, new_produce_future, new_batch_index):  # a split not watched (`watch_splits`): never
        raise errors.IllegalStateError("a batch split without runtime.kafka_appends.watch_splits")


class _Moved:
    """One record of an `Acks` in a batch split by kafka-python: its batch's future and its index there."""

    __slots__ = ("future", "index")

    def __init__(self, future, index: int):
        self.future, self.index = future, index

    def rebind(self, new_produce_future, new_batch_index):  # as `FutureRecordMetadata.rebind`
        self.future, self.index = new_produce_future, new_batch_index


def watch_splits(accumulator) -> None:
    """Before kafka-python splits one of this accumulator's batches, give each `Acks` in it a place per record."""
    split = accumulator.split_and_reenqueue

    @functools.wraps(split)
    def split_and_reenqueue(batch, now=None):
        _split(batch)
        result = split(batch, now)
        batch.produce_future._latch.set()  # noqa: SLF001 - a waiting `get` looks at the halves (as `rebind` does)
        return result
    accumulator.split_and_reenqueue = split_and_reenqueue


def _split(batch) -> None:
    futures = batch._record_futures  # noqa: SLF001
    for index, entry in enumerate(futures):
        if entry.__class__ is Acks:
            moved = _Moved(batch.produce_future, index)
            if entry.moved is None:
                entry.moved = []
            entry.moved.append(moved)
            futures[index] = moved


@functools.lru_cache(maxsize=1 << 14)
def _varint(value: int) -> bytes:
    """A zigzag varint's bytes, as kafka-python's `encode_varint` writes them."""
    out = bytearray()
    encode_varint(value, out.append)
    return bytes(out)


def append_keyed(accumulator, groups: dict, acks: list, timestamp_ms: int) -> bool:
    """Append each partition's records (`groups`: TopicPartition -> [(index, key bytes, value bytes)], in the order
    sent) to the end of its batches, as `RecordAccumulator.append` would one by one; put each record's `Acks` at its
    index in `acks`. Return whether the sender should be woken (a batch is new or full)."""
    config = accumulator.config
    if config["compression_attrs"] or config["message_version"] != 2 or accumulator._transaction_manager \
            and accumulator._transaction_manager.is_transactional():  # noqa: SLF001
        raise errors.IllegalStateError("append_keyed writes uncompressed, non-transactional v2 batches only")
    wake = False
    now = time.monotonic()
    accumulator._appends_in_progress.increment()  # noqa: SLF001 - as `append`: `abort_incomplete_batches` waits
    try:
        for tp, items in groups.items():
            with accumulator._tp_lock(tp):  # noqa: SLF001
                if accumulator._closed:  # noqa: SLF001
                    raise errors.IllegalStateError("RecordAccumulator is closed")
                dq = accumulator._batches[tp]  # noqa: SLF001
                start, full = 0, False
                while start < len(items):
                    batch = dq[-1] if dq else None
                    if full or batch is None or batch.records._closed:  # noqa: SLF001 - as `append`, a new batch
                        batch = ProducerBatch(tp, MemoryRecordsBuilder(2, 0, config["batch_size"]), now=now)
                        dq.append(batch)
                        accumulator._incomplete.add(batch)  # noqa: SLF001
                        wake = True
                    appended = _fill(batch, items, start, acks, timestamp_ms, now)
                    full = appended < len(items)  # the rest go to a new batch (an empty one takes at least one)
                    start = appended
                    if full or batch.records.is_full():
                        wake = True
                if len(dq) > 1:
                    wake = True
    finally:
        accumulator._appends_in_progress.decrement()  # noqa: SLF001
    return wake


def _fill(batch, items: list, start: int, acks: list, timestamp_ms: int, now: float, varint=_varint) -> int:
    """Append `items[start:]` to `batch` while they fit (the first record of an empty batch always does, as in
    `DefaultRecordBatchBuilder.append`); return the index of the first one left."""
    records = batch.records
    builder = records._builder  # noqa: SLF001
    buffer, limit = builder._buffer, builder._batch_size  # noqa: SLF001
    empty = builder._first_timestamp is None  # noqa: SLF001
    if empty:
        builder._first_timestamp = builder._max_timestamp = timestamp_ms  # noqa: SLF001
    elif builder._max_timestamp < timestamp_ms:  # noqa: SLF001
        builder._max_timestamp = timestamp_ms  # noqa: SLF001
    delta = timestamp_ms - builder._first_timestamp  # noqa: SLF001
    attributes_and_delta = b"\x00" + varint(delta)
    offset = first_offset = records._next_offset  # noqa: SLF001
    acked = Acks(batch.produce_future, first_offset)
    largest = 0
    n = start
    for index, key, value in items[start:] if start else items:
        body = b"".join((attributes_and_delta, varint(offset), varint(len(key)), key, varint(len(value)), value,
                         b"\x00"))  # attributes, timestamp and offset deltas, key, value, no headers
        size = len(body)
        length = varint(size)
        required = size + len(length)
        if len(buffer) + required > limit and not empty:
            break
        empty = False
        buffer += length
        buffer += body
        acks[index] = acked
        if required > largest:
            largest = required
        offset += 1
        n += 1
    count = offset - first_offset
    if count:
        records._next_offset = offset  # noqa: SLF001
        builder._num_records += count  # noqa: SLF001
        builder._last_offset = offset - 1  # noqa: SLF001
        batch._record_futures.extend(repeat(acked, count))  # noqa: SLF001
        batch.max_record_size = max(batch.max_record_size, largest)
        batch.last_append = now
    return n
