"""The on-call's tools behind `kinerja dlq ...` and `kinerja status`.

Dead letters: a consumer parks an event it cannot apply on `<topic>.dlq` with the error in its headers
(`runtime.consumer`). The group `kinerja-dlq` is the on-call's cursor on each dead-letter topic: records
before it were handled, those after it wait (and `kinerja_dead_letters` counts them). `replay` publishes
the waiting records again, unchanged, on their source topic and moves the cursor past them: a consumer that
applied the event already drops it through its inbox, so replaying twice changes nothing. `discard` only
moves the cursor. Both write an audit record (who, when, why, which record) on the `ops.audit` topic, before
the cursor moves, and both act on the oldest waiting records, in order.

Status: every service's `/readyz` and `/metrics` (which carry the lag, outbox, dead letters, ingest backlog
and silent devices, queried at scrape time), read into one screen; `problems` says what is wrong.
"""
from __future__ import annotations

import getpass
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from contracts import topics as topic_names
from runtime.monitoring import DLQ_GROUP, Broker

AUDIT_TOPIC = "ops.audit"
OUTBOX_STUCK_S = 300  # as the KinerjaOutboxStuck alert
INGEST_STUCK_S = 900  # as the KinerjaIngestBacklogGrowing alert


def dead_letter_topics() -> list[str]:
    """Every dead-letter topic of the platform."""
    return [topic_names.dead_letter(t) for t in topic_names.ALL]


@dataclass(frozen=True)
class Parked:
    """A record waiting on a dead-letter topic."""

    topic: str
    partition: int
    offset: int
    timestamp: float
    key: str | None
    value: bytes
    headers: dict[str, str]

    def view(self, full: bool = False) -> dict:
        """The record as the on-call reads it (the payload shortened unless `full`)."""
        text = self.value.decode("utf-8", "replace")
        return {"topic": self.topic, "partition": self.partition, "offset": self.offset,
                "parked_at": datetime.fromtimestamp(self.timestamp, timezone.utc).isoformat(), "key": self.key,
                **{k: self.headers.get(k) for k in ("consumer", "error", "source_topic", "source_partition",
                                                      "source_offset")},
                "value": text if full or len(text) <= 300 else text[:300] + "..."}


class DeadLetterDesk:
    """Lists, shows, replays and discards the records waiting on the dead-letter topics."""

    def __init__(self, bootstrap: str, producer=None):
        self.bootstrap = bootstrap
        self.broker = Broker(bootstrap, "kinerja-dlq-desk")
        self._producer = producer

    @property
    def producer(self):
        """The idempotent producer replays and audit records are sent with."""
        if self._producer is None:
            from runtime.kafka import make_producer
            self._producer = make_producer(self.bootstrap, "kinerja-dlq-desk")
        return self._producer

    def close(self) -> None:
        """Close the clients."""
        self.broker.close()
        if self._producer is not None:
            self._producer.close()

    def _check(self, topic: str) -> str:
        if not topic.endswith(".dlq"):
            raise ValueError(f"{topic!r} is not a dead-letter topic; `kinerja dlq list` names them")
        return topic

    def _window(self, topic: str) -> list[tuple]:
        """(partition, cursor, end) of each partition of `topic`."""
        partitions = self.broker.partitions([topic])
        committed = self.broker.committed(DLQ_GROUP)
        ends = self.broker.end_offsets(partitions)
        starts = self.broker.beginning_offsets(partitions)
        return [(tp, max(committed.get(tp, 0), starts[tp]), ends[tp]) for tp in partitions]

    def summary(self) -> list[dict]:
        """Every dead-letter topic with the records waiting on it (and the newest one's time)."""
        rows = []
        for topic in dead_letter_topics():
            waiting, newest = 0, None
            for tp, cursor, end in self._window(topic):
                waiting += end - cursor
                if end > cursor:
                    last = self.broker.read(tp, end - 1, end)
                    newest = max(newest or 0, last[-1].timestamp / 1000) if last else newest
            rows.append({"topic": topic, "waiting": waiting,
                         "newest_at": datetime.fromtimestamp(newest, timezone.utc).isoformat() if newest else None})
        return rows

    def waiting(self, topic: str, limit: int | None = None) -> list[Parked]:
        """The records waiting on `topic`, oldest first (at most `limit`)."""
        parked = []
        for tp, cursor, end in self._window(self._check(topic)):
            if limit is not None:
                end = min(end, cursor + limit - len(parked))
            for record in self.broker.read(tp, cursor, end):
                headers = {k: v.decode("utf-8", "replace") for k, v in (record.headers or [])}
                key = record.key.decode("utf-8", "replace") if isinstance(record.key, bytes) else record.key
                value = record.value if isinstance(record.value, bytes) else str(record.value).encode()
                parked.append(Parked(topic, tp.partition, record.offset, record.timestamp / 1000, key, value, headers))
        return parked

    def replay(self, topic: str, count: int, reason: str, actor: str | None = None) -> list[Parked]:
        """Publish the `count` oldest waiting records of `topic` again on their source topic, audit each, then
        move the cursor past them. Returns the records replayed."""
        records = self.waiting(topic, count)
        for record in records:
            source = record.headers.get("source_topic") or topic.removesuffix(".dlq")
            self.producer.send(source, key=record.key, value=record.value).get(timeout=30)
            self._audit("replay", record, reason, actor, replayed_to=source)
        self._advance(records)
        return records

    def discard(self, topic: str, count: int, reason: str, actor: str | None = None) -> list[Parked]:
        """Mark the `count` oldest waiting records of `topic` handled without replaying them, auditing each."""
        if not reason.strip():
            raise ValueError("a discard needs a reason")
        records = self.waiting(topic, count)
        for record in records:
            self._audit("discard", record, reason, actor)
        self._advance(records)
        return records

    def audit_trail(self, limit: int = 20) -> list[dict]:
        """The latest audit records, oldest first."""
        partitions = self.broker.partitions([AUDIT_TOPIC])
        ends = self.broker.end_offsets(partitions)
        starts = self.broker.beginning_offsets(partitions)
        entries = []
        for tp in partitions:
            start = max(starts[tp], ends[tp] - limit)
            entries += [json.loads(r.value) for r in self.broker.read(tp, start, ends[tp])]
        return sorted(entries, key=lambda e: e["at"])[-limit:]

    def _audit(self, action: str, record: Parked, reason: str, actor: str | None, **extra) -> None:
        from runtime.kafka import ensure_topics
        ensure_topics(self.bootstrap, [AUDIT_TOPIC], partitions=1, with_dead_letters=False)
        entry = {"action": action, "at": datetime.now(timezone.utc).isoformat(), "by": actor or getpass.getuser(),
                 "reason": reason, "dead_letter": {"topic": record.topic, "partition": record.partition,
                                                   "offset": record.offset},
                 "key": record.key, "error": record.headers.get("error"), "consumer": record.headers.get("consumer"),
                 "source": {k: record.headers.get(f"source_{k}") for k in ("topic", "partition", "offset")}, **extra}
        self.producer.send(AUDIT_TOPIC, key=record.topic, value=json.dumps(entry)).get(timeout=30)

    def _advance(self, records: list[Parked]) -> None:
        if not records:
            return
        from kafka.structs import OffsetAndMetadata, TopicPartition
        last: dict[TopicPartition, int] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            last[tp] = max(last.get(tp, -1), record.offset)
        offsets = {tp: OffsetAndMetadata(offset + 1, "", -1) for tp, offset in last.items()}
        errors = self.broker.admin.alter_group_offsets(DLQ_GROUP, offsets)
        failed = {tp: e for tp, e in (errors or {}).items() if getattr(e, "__name__", "NoError") != "NoError"}
        if failed:
            raise RuntimeError(f"the dead-letter cursor did not move: {failed}")


@dataclass
class ServiceStatus:
    """One service as `kinerja status` shows it."""

    name: str
    url: str
    ready: bool | None = None  # None: did not answer
    checks: dict = field(default_factory=dict)
    samples: list = field(default_factory=list)  # (metric name, labels, value) from its /metrics

    def total(self, metric: str, **match) -> float:
        """The sum of `metric` over the samples whose labels include `match`."""
        return sum(v for n, labels, v in self.samples
                   if n == metric and all(labels.get(k) == m for k, m in match.items()))

    def maximum(self, metric: str) -> float:
        """The largest value of `metric` (0 when absent)."""
        return max((v for n, _, v in self.samples if n == metric), default=0.0)

    def series(self, metric: str) -> list[tuple[dict, float]]:
        """The samples of `metric`."""
        return [(labels, v) for n, labels, v in self.samples if n == metric]


def read_service(name: str, url: str, timeout_s: float = 10.0) -> ServiceStatus:
    """A service's readiness and scrape-time metrics."""
    import requests
    from prometheus_client.parser import text_string_to_metric_families
    status = ServiceStatus(name, url)
    try:
        ready = requests.get(f"{url}/readyz", timeout=timeout_s)
        status.ready = ready.status_code == 200
        status.checks = ready.json().get("checks", {})
        text = requests.get(f"{url}/metrics", timeout=timeout_s).text
    except (requests.RequestException, ValueError):
        return status
    status.samples = [(s.name, s.labels, s.value) for family in text_string_to_metric_families(text)
                      for s in family.samples]
    return status


def read_platform(names: list[str], env, timeout_s: float = 10.0) -> list[ServiceStatus]:
    """The named services read side by side, each at `<SERVICE>_URL` (default http://127.0.0.1:<its port>)."""
    from concurrent.futures import ThreadPoolExecutor

    from runtime.service import SERVICES, service
    for name in names:
        service(name)  # refuses an unknown name
    urls = {n: env.get(f"{n.upper()}_URL", f"http://127.0.0.1:{SERVICES[n]}").rstrip("/") for n in names}
    with ThreadPoolExecutor(len(names)) as pool:
        return list(pool.map(lambda n: read_service(n, urls[n], timeout_s), names))


def problems(services: list[ServiceStatus]) -> list[str]:
    """What is wrong, one line each (empty when all is well): a service down or not ready, an outbox not
    draining, dead letters waiting, uploads not ingested, devices silent in working hours."""
    found = []
    dead_letters: dict[str, float] = {}
    for s in services:
        if s.ready is None:
            found.append(f"{s.name}: does not answer at {s.url}")
            continue
        if not s.ready:
            found.append(f"{s.name}: not ready ({', '.join(f'{k} {v}' for k, v in s.checks.items() if v != 'ok')})")
        if s.maximum("kinerja_outbox_oldest_age_seconds") > OUTBOX_STUCK_S:
            found.append(f"{s.name}: outbox not draining (oldest row {s.maximum('kinerja_outbox_oldest_age_seconds'):.0f} s)")
        for labels, value in s.series("kinerja_dead_letters"):
            dead_letters[labels["topic"]] = max(dead_letters.get(labels["topic"], 0), value)
        if s.maximum("kinerja_attendance_ingest_oldest_age_seconds") > INGEST_STUCK_S:
            found.append(f"{s.name}: {s.total('kinerja_attendance_ingest_waiting'):.0f} uploads waiting for the "
                         f"ingest job, the oldest {s.maximum('kinerja_attendance_ingest_oldest_age_seconds'):.0f} s")
        for labels, value in s.series("kinerja_attendance_device_silent"):
            if value:
                found.append(f"{s.name}: device {labels['device']} (unit {labels['unit'] or '-'}) silent in working hours")
    found += [f"{topic}: {n:.0f} dead letter(s) waiting (kinerja dlq show {topic})"
              for topic, n in sorted(dead_letters.items()) if n]
    return found


def render_status(services: list[ServiceStatus], found: list[str], now: float | None = None) -> str:
    """The one screen of `kinerja status`."""
    now = now or time.time()
    lines = [f"kinerja status at {datetime.fromtimestamp(now, timezone.utc):%Y-%m-%d %H:%M:%S} UTC", "",
             f"{'service':<11} {'ready':<9} {'kafka':<12} {'lag':>7} {'outbox':>7} {'oldest':>8} {'dlq':>5}"]
    for s in services:
        if s.ready is None:
            lines.append(f"{s.name:<11} {'DOWN':<9} {'?':<12} {'?':>7} {'?':>7} {'?':>8} {'?':>5}")
            continue
        lines.append(f"{s.name:<11} {'ready' if s.ready else 'NOT READY':<9} {s.checks.get('kafka', '?'):<12} "
                     f"{s.total('kinerja_consumer_lag'):>7.0f} {s.total('kinerja_outbox_waiting'):>7.0f} "
                     f"{s.maximum('kinerja_outbox_oldest_age_seconds'):>7.0f}s {s.total('kinerja_dead_letters'):>5.0f}")
    attendance = next((s for s in services if s.name == "attendance" and s.samples), None)
    if attendance:
        silent = [labels["device"] for labels, v in attendance.series("kinerja_attendance_device_silent") if v]
        lines += ["", f"ingest backlog: {attendance.total('kinerja_attendance_ingest_waiting'):.0f} uploads, oldest "
                      f"{attendance.maximum('kinerja_attendance_ingest_oldest_age_seconds'):.0f}s; "
                      f"silent devices: {', '.join(silent) or 'none'}"]
    lines += ["", "OK: nothing needs attention" if not found else f"{len(found)} problem(s):"]
    lines += [f"  - {line}" for line in found]
    return "\n".join(lines)
