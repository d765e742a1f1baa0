"""What a service reports when Prometheus scrapes it, queried then (never counted event by event).

- `PipelineCollector`: how far behind the service's consumer is on every partition it reads (end offset
  minus its group's committed offset), its dead-letter topics (messages not yet replayed or discarded,
  and the newest one's age), whether the broker answers; the outbox (rows waiting, the oldest's age) and
  the service's readiness (database and broker).
- `QueryCollector`: gauges a service declares as queries on its own tables (`<service>/monitoring.py`).

`Broker` is the one read-only view of the broker that these collectors, `kinerja status` and
`kinerja dlq` share: offsets of a group, end offsets, the newest record of a topic.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from contracts.topics import dead_letter

log = logging.getLogger(__name__)
DLQ_GROUP = "kinerja-dlq"  # the on-call's cursor on each dead-letter topic: what is before it was handled
TIMEOUT_MS = 5000


def _age(moment: datetime | None, now: float) -> float:
    if moment is None:
        return 0.0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, now - moment.timestamp())


class Broker:
    """A read-only client of the broker for monitoring and the on-call tools (opened lazily, reopened after
    a failure; one call at a time)."""

    def __init__(self, bootstrap: str, client_id: str = "kinerja-monitor"):
        self.bootstrap = bootstrap
        self.client_id = client_id
        self._admin = None
        self._consumer = None
        self.lock = threading.Lock()

    @property
    def admin(self):
        """The admin client."""
        if self._admin is None:
            from kafka import KafkaAdminClient
            self._admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, client_id=self.client_id,
                                           request_timeout_ms=TIMEOUT_MS)
        return self._admin

    @property
    def consumer(self):
        """A consumer outside any group: offsets and single reads only."""
        if self._consumer is None:
            from runtime.kafka import make_consumer
            self._consumer = make_consumer(self.bootstrap, None, self.client_id, request_timeout_ms=TIMEOUT_MS + 1000,
                                           consumer_timeout_ms=TIMEOUT_MS)
        return self._consumer

    def close(self) -> None:
        """Close the clients (they are reopened on the next call)."""
        for client in (self._admin, self._consumer):
            if client is not None:
                try:
                    client.close()
                except Exception:  # noqa: BLE001 - closing a broken client
                    pass
        self._admin = self._consumer = None

    def partitions(self, topics: Iterable[str]) -> list:
        """The partitions of `topics` (those that exist)."""
        from kafka.structs import TopicPartition
        found = []
        for topic in topics:
            for partition in sorted(self.consumer.partitions_for_topic(topic) or ()):
                found.append(TopicPartition(topic, partition))
        return found

    def end_offsets(self, partitions: list) -> dict:
        """The next offset to be written on each partition."""
        return self.consumer.end_offsets(partitions) if partitions else {}

    def beginning_offsets(self, partitions: list) -> dict:
        """The first offset still kept on each partition."""
        return self.consumer.beginning_offsets(partitions) if partitions else {}

    def committed(self, group: str) -> dict:
        """The offsets `group` committed, by partition. The group's coordinator may be moving or not yet
        known (a new broker creates its offsets topic on the first look-up): asked again a few times."""
        from kafka.errors import CoordinatorLoadInProgressError, CoordinatorNotAvailableError, NotCoordinatorError
        deadline = time.monotonic() + 15
        while True:
            try:
                offsets = self.admin.list_group_offsets({group: None}).get(group, {})
                return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
            except (CoordinatorNotAvailableError, CoordinatorLoadInProgressError, NotCoordinatorError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def read(self, partition, start: int, end: int) -> list:
        """The records of `partition` from offset `start` up to `end` (excluded)."""
        consumer = self.consumer
        consumer.assign([partition])
        consumer.seek(partition, start)
        records = []
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while start + len(records) < end and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500, max_records=end - start - len(records)).values():
                records.extend(r for r in batch if r.offset < end)
        consumer.assign([])
        return records


@dataclass(frozen=True)
class TopicLag:
    """How far a group is behind on one partition."""

    topic: str
    partition: int
    committed: int
    end: int

    @property
    def lag(self) -> int:
        """Records written that the group has not committed."""
        return max(0, self.end - self.committed)


@dataclass(frozen=True)
class DeadLetters:
    """A dead-letter topic: records not yet handled, and the newest record's time (None when empty)."""

    topic: str
    waiting: int
    newest_at: float | None


def consumer_lag(broker: Broker, group: str, topics: list[str]) -> list[TopicLag]:
    """The lag of `group` on every partition of `topics` (a partition never committed counts from its start)."""
    partitions = broker.partitions(topics)
    committed = broker.committed(group)
    ends = broker.end_offsets(partitions)
    starts = broker.beginning_offsets([tp for tp in partitions if tp not in committed])
    return [TopicLag(tp.topic, tp.partition, committed.get(tp, starts.get(tp, 0)), ends[tp]) for tp in partitions]


def dead_letters(broker: Broker, topics: list[str]) -> list[DeadLetters]:
    """The dead-letter topics of `topics`: how many records are after the on-call's cursor, and the newest's
    time (read only when some are waiting)."""
    found = []
    dlq_topics = [dead_letter(t) for t in topics]
    partitions = broker.partitions(dlq_topics)
    committed = broker.committed(DLQ_GROUP)
    ends = broker.end_offsets(partitions)
    starts = broker.beginning_offsets(partitions)
    for topic in dlq_topics:
        waiting, newest = 0, None
        for tp in (p for p in partitions if p.topic == topic):
            cursor = max(committed.get(tp, 0), starts[tp])
            if ends[tp] > cursor:
                waiting += ends[tp] - cursor
                last = broker.read(tp, ends[tp] - 1, ends[tp])
                if last:
                    newest = max(newest or 0.0, last[-1].timestamp / 1000)
        found.append(DeadLetters(topic, waiting, newest))
    return found


def outbox_backlog(session: Session) -> tuple[int, datetime | None]:
    """Outbox rows not yet published (the outbox holds no other), and the oldest one's creation time."""
    outbox = session.info["metadata"].tables["outbox"]
    return session.execute(select(func.count(), func.min(outbox.c.created_at))).one()


class PipelineCollector:
    """The messaging state of one service, read at scrape time (see the module's docstring)."""

    def __init__(self, service: str, sessions: sessionmaker[Session], broker: Broker, topics: list[str],
                 group: str | None = None, readiness: Callable[[], dict] | None = None):
        self.service = service
        self.group = group or service
        self.sessions = sessions
        self.broker = broker
        self.topics = topics
        self.readiness = readiness

    def describe(self):
        """Nothing to describe in advance (the collector queries when collected)."""
        return []

    def collect(self):
        """Yield the gauges."""
        now = time.time()
        s = self.service
        waiting = GaugeMetricFamily("kinerja_outbox_waiting", "Outbox rows not yet published", labels=["service"])
        oldest = GaugeMetricFamily("kinerja_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row",
                                   labels=["service"])
        try:
            with self.sessions() as session:
                count, first = outbox_backlog(session)
            waiting.add_metric([s], count)
            oldest.add_metric([s], _age(first, now))
            yield from (waiting, oldest)
        except Exception as exc:  # noqa: BLE001 - a scrape reports what it can
            log.warning("outbox not readable for metrics", extra={"error": repr(exc)})
        checks = self.readiness() if self.readiness is not None else {}
        if checks:
            up = GaugeMetricFamily("kinerja_dependency_up", "Whether a dependency of the service answers",
                                   labels=["service", "dependency"])
            for dependency, state in checks.items():
                up.add_metric([s, dependency], 1 if state == "ok" else 0)
            ready = GaugeMetricFamily("kinerja_service_ready", "Whether the service is ready (database and broker)",
                                      labels=["service"])
            ready.add_metric([s], 1 if all(v == "ok" for v in checks.values()) else 0)
            yield from (up, ready)
        yield from self._broker_metrics(now, checks.get("kafka", "ok") == "ok")

    def _broker_metrics(self, now: float, reachable: bool):
        s = self.service
        lag = GaugeMetricFamily("kinerja_consumer_lag", "Records on a partition the service's consumer has not "
                                "committed yet", labels=["service", "topic", "partition"])
        dlq = GaugeMetricFamily("kinerja_dead_letters", "Records on a dead-letter topic not yet replayed or "
                                "discarded", labels=["service", "topic"])
        dlq_age = GaugeMetricFamily("kinerja_dead_letter_newest_age_seconds", "Age of the newest record waiting on "
                                    "a dead-letter topic (0 when none waits)", labels=["service", "topic"])
        answered = GaugeMetricFamily("kinerja_broker_metrics_up", "Whether the broker answered this scrape's "
                                     "offset queries", labels=["service"])
        if not reachable:  # known down: do not wait for the clients' timeouts on every scrape
            answered.add_metric([s], 0)
            yield answered
            return
        try:
            with self.broker.lock:
                lags = consumer_lag(self.broker, self.group, self.topics) if self.topics else []
                letters = dead_letters(self.broker, self.topics) if self.topics else []
        except Exception as exc:  # noqa: BLE001 - reported as a gauge; the clients are rebuilt next time
            log.warning("broker offsets not readable for metrics", extra={"error": repr(exc)})
            self.broker.close()
            answered.add_metric([s], 0)
            yield answered
            return
        for item in lags:
            lag.add_metric([s, item.topic, str(item.partition)], item.lag)
        for item in letters:
            dlq.add_metric([s, item.topic], item.waiting)
            dlq_age.add_metric([s, item.topic], max(0.0, now - item.newest_at) if item.waiting and item.newest_at else 0)
        answered.add_metric([s], 1)
        yield from (lag, dlq, dlq_age, answered)


@dataclass(frozen=True)
class Gauge:
    """A gauge a service declares: `query(session, now)` returns [(label values, value)]."""

    name: str
    help: str
    labels: tuple[str, ...]
    query: Callable[[Session, datetime], Iterable[tuple[tuple, float]]]


class QueryCollector:
    """The gauges a service declares on its own tables, queried in one session per scrape."""

    def __init__(self, sessions: sessionmaker[Session], gauges: Iterable[Gauge]):
        self.sessions = sessions
        self.gauges = list(gauges)

    def describe(self):
        """Nothing to describe in advance."""
        return []

    def collect(self):
        """Yield every declared gauge (a failing query skips its gauge and is logged)."""
        now = datetime.now(timezone.utc)
        with self.sessions() as session:
            for gauge in self.gauges:
                family = GaugeMetricFamily(gauge.name, gauge.help, labels=list(gauge.labels))
                try:
                    for labels, value in gauge.query(session, now):
                        family.add_metric([str(v) for v in labels], value)
                except Exception as exc:  # noqa: BLE001 - one broken query does not hide the others
                    session.rollback()
                    log.warning("metric query failed", extra={"metric": gauge.name, "error": repr(exc)})
                    continue
                yield family
