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
NIGHTLY_BEHIND_S = 2 * 3600  # as the KinerjaNightlyBuildBehind alert


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
    draining, dead letters waiting, uploads not ingested, the nightly build of everyone's days behind, devices
    silent in working hours."""
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
        if s.maximum("kinerja_attendance_date_build_overdue_seconds") > NIGHTLY_BEHIND_S:
            found.append(f"{s.name}: the nightly build of everyone's days is "
                         f"{s.maximum('kinerja_attendance_date_build_overdue_seconds') / 3600:.1f} h behind "
                         "(docs/OPERATIONS.md, KinerjaNightlyBuildBehind)")
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
        overdue = attendance.maximum("kinerja_attendance_date_build_overdue_seconds")
        lines += ["", f"ingest backlog: {attendance.total('kinerja_attendance_ingest_waiting'):.0f} uploads, oldest "
                      f"{attendance.maximum('kinerja_attendance_ingest_oldest_age_seconds'):.0f}s; "
                      f"nightly build: {f'{overdue / 3600:.1f} h behind' if overdue else 'up to date'}; "
                      f"silent devices: {', '.join(silent) or 'none'}"]
    lines += ["", "OK: nothing needs attention" if not found else f"{len(found)} problem(s):"]
    lines += [f"  - {line}" for line in found]
    return "\n".join(lines)


# --- the audit chain: `kinerja audit verify` and `kinerja audit sign` -------------------------------------

@dataclass
class StreamVerdict:
    """What `kinerja audit verify` found in one audit stream: how many records, the signed head it checked
    (seq, or None when there was none) and the first broken link (None when the chain is whole)."""

    stream: str
    records: int
    head_seq: int | None
    broken: object | None  # runtime.audit_chain.Break

    def line(self) -> str:
        """One line for the on-call."""
        head = f"signed head seq {self.head_seq} matches" if self.head_seq is not None else "no signed head to check"
        if self.broken is None:
            return f"ok      {self.stream}: {self.records} record(s) chained, {head}"
        return f"BROKEN  {self.broken}"


def read_signed_heads(bootstrap: str, timeout_s: float = 60.0) -> dict[str, dict]:
    """The latest signed head of every audit stream on the compacted topic `audit.heads` (stream -> head)."""
    from runtime.projection import replay
    heads: dict[str, dict] = {}
    replay(bootstrap, [topic_names.AUDIT_HEADS], lambda event: heads.__setitem__(event.key, event.dumped or {
        **event.data, "at": event.data["at"].isoformat()}), client_id="kinerja-audit-verify", timeout_s=timeout_s)
    return heads


def read_head_file(path: str) -> dict[str, dict]:
    """Signed heads kept in a file (`kinerja audit sign --head-file`): a JSON list of heads or stream -> head."""
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    return {h["stream"]: h for h in document} if isinstance(document, list) else dict(document)


def fetch_jwks(url: str, timeout_s: float = 10.0) -> dict:
    """The published JWKS at `url`."""
    import urllib.request
    with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 - the configured JWKS address
        return json.loads(response.read())


def _verify_stream(session, stream, signed: dict | None, jwks: dict | None) -> StreamVerdict:
    from sqlalchemy import select

    from runtime.audit_chain import BadSignature, Break, check_against_head, read_head, walk
    claims = None
    if signed is not None:
        try:
            claims = read_head(signed["signature"], jwks or {})
        except BadSignature as exc:
            return StreamVerdict(stream.name, 0, int(signed.get("seq", 0)),
                                 Break(stream.name, "signature bad", signed.get("seq"), str(exc)))
        if (claims["stream"], int(claims["seq"]), claims["hash"]) != (stream.name, int(signed["seq"]), signed["hash"]):
            return StreamVerdict(stream.name, 0, int(signed["seq"]), Break(
                stream.name, "signature bad", signed.get("seq"), "the signed claims differ from the head published"))
    wanted = int(claims["seq"]) if claims else None
    at_head: dict[int, str] = {}

    def rows():
        c = stream.table.c
        for row in session.execute(select(stream.table).order_by(c.seq).execution_options(yield_per=1000)).mappings():
            if row["seq"] == wanted:
                at_head[wanted] = row["hash"]
            yield row

    broken, last_seq, _ = walk(stream.name, stream.fields, rows())
    if broken is None and stream.check:
        import importlib
        module, _, function = stream.check.partition(":")
        check = getattr(importlib.import_module(module), function)
        c = stream.table.c
        for row in session.execute(select(stream.table).order_by(c.seq)).mappings():
            differs = check(session, dict(row))
            if differs:
                broken = Break(stream.name, "content changed", row["seq"], differs, row.get("id"))
                break
    if broken is None and claims is not None:
        broken = check_against_head(stream.name, claims, at_head, last_seq)
    return StreamVerdict(stream.name, last_seq, wanted, broken)


def verify_audit(services: list[str], env: dict, heads: dict[str, dict], jwks: dict | None) -> list[StreamVerdict]:
    """Walk every audit stream of `services`, recomputing each hash, run the stream's own content check, and
    compare the chain with the stream's signed head in `heads` (verified against `jwks`)."""
    from runtime.audit_chain import streams_of
    from runtime.config import Settings
    from runtime.db import make_engine, make_session_factory
    from runtime.service import service
    verdicts = []
    for name in services:
        streams = streams_of(name)
        if not streams:
            continue
        engine = make_engine(Settings.from_env(name, env).database_url)
        try:
            with make_session_factory(engine, service(name).metadata)() as session:
                verdicts += [_verify_stream(session, s, heads.get(s.name), jwks) for s in streams]
        finally:
            engine.dispose()
    return verdicts


def sign_audit_heads(services: list[str], env: dict) -> list[dict]:
    """Sign the current head of every audit stream of `services` now and put it on the outbox (the service's
    relay sends it to `audit.heads`); returns the heads signed (JSON-ready)."""
    from runtime.audit_chain import publish_heads
    from runtime.config import Settings
    from runtime.db import make_engine, make_session_factory
    from runtime.service import service
    signed = []
    for name in services:
        settings = Settings.from_env(name, env)
        engine = make_engine(settings.database_url)
        try:
            heads = publish_heads(make_session_factory(engine, service(name).metadata), name, settings)
        finally:
            engine.dispose()
        signed += [{**h, "at": h["at"].isoformat()} for h in heads]
    return signed


def audit_jwks(source: str | None, settings) -> tuple[dict, str]:
    """The key set signed heads are checked against, and where it came from: `source` (a URL or a JWKS file),
    by default the platform's published JWKS (`JWKS_URL`); when that does not answer, the key store of the
    data directory (the same keys the JWKS publishes)."""
    from runtime.keys import KeyStore
    if source and not source.startswith(("http://", "https://")):
        with open(source, encoding="utf-8") as handle:
            return json.load(handle), source
    url = source or settings.jwks_url
    try:
        return fetch_jwks(url), url
    except OSError:
        if source:
            raise
        return KeyStore(settings.signing_keys_dir).jwks(), f"{settings.signing_keys_dir} ({url} did not answer)"
