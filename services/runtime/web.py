"""Flask app-factory helpers every service uses: health, readiness, metrics, OpenAPI, problems, logs."""
from __future__ import annotations

import csv
import logging
import os
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask.json.provider import DefaultJSONProvider
from marshmallow import Schema, ValidationError
from prometheus_client import Counter, Histogram
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from runtime.config import Settings
from runtime.db import make_engine, make_session_factory, ping
from runtime.kafka import broker_answers
from runtime.metrics import exposition
from runtime.errors import DomainError, Invalid, Malformed
from runtime.openapi import allow_header, build as build_openapi, documented  # noqa: F401 - views import it from here
from runtime.problems import Problem, from_validation_error

log = logging.getLogger(__name__)
access_log = logging.getLogger("kinerja.access")
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})  # probes and scrapes: access-logged at DEBUG
REQUESTS = Counter("kinerja_http_requests_total", "HTTP requests", ["service", "method", "endpoint", "status"])
LATENCY = Histogram("kinerja_http_request_seconds", "HTTP request latency", ["service", "endpoint"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


@dataclass
class ServiceContext:
    """What a running service holds: settings, engine, session factory, the service's own dependencies (built by
    its `app.py`: policy, clock, stores...) and the readiness cache."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    service: Any = None
    kafka_checked_at: float = 0.0
    kafka_ok: bool = False
    collectors: list | None = None  # what /metrics queries at scrape time, built on the first scrape


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        from flask import has_request_context
        record.request_id = g.get("request_id") if has_request_context() else None
        return True


class _StartupCoordinatorNoise(logging.Filter):
    """Drop kafka-python's coordinator warnings in a process's first minutes: at every start the group
    coordinator is looked up and moves while the broker settles (NotCoordinatorError and the like), and the
    client retries by itself. Later they are kept: then they mean something."""

    MARKERS = ("NotCoordinator", "CoordinatorNotAvailable", "CoordinatorLoadInProgress", "coordinator dead")

    def __init__(self, quiet_for_s: float = 120.0):
        super().__init__()
        self.until = time.monotonic() + quiet_for_s

    def filter(self, record):
        if not record.name.startswith("kafka") or time.monotonic() > self.until:
            return True
        return not any(marker in record.getMessage() for marker in self.MARKERS)


def configure_logging(service: str, level: str | None = None) -> None:
    """Structured JSON logs on stderr, with the request id when there is one (idempotent)."""
    root = logging.getLogger()
    if any(getattr(h, "_kinerja", False) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler._kinerja = True
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                                       static_fields={"service": service}))
    handler.addFilter(_RequestIdFilter())
    handler.addFilter(_StartupCoordinatorNoise())
    root.addHandler(handler)
    root.setLevel(level or os.environ.get("LOG_LEVEL", "INFO"))
    logging.getLogger("kafka").setLevel(logging.WARNING)
    for noisy in ("kafka.net", "kafka.cluster"):  # connection retries: /readyz and the workers report them
        logging.getLogger(noisy).setLevel(logging.CRITICAL)


def context() -> ServiceContext:
    """The running service's context."""
    return current_app.extensions["kinerja"]


def service_context():
    """The running service's own context, as its `app.py` built it."""
    return context().service


def db() -> Session:
    """The request's database session (closed when the request ends)."""
    if "db" not in g:
        g.db = context().sessions()
    return g.db


SQL_INTEGER_MAX = 2**31 - 1
MAX_JSON_DEPTH = 32  # no request body of the platform nests deeper than a few levels
MAX_UPLOAD_TEXT_BYTES = 8 * 1024 * 1024  # a regency's roster or catalogue is a few hundred kilobytes
_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def check_json_depth(text: str | bytes, limit: int = MAX_JSON_DEPTH) -> None:
    """Malformed when the JSON text nests arrays and objects deeper than `limit`, found before it is parsed
    (the parser and the schemas recurse; a 100,000-deep body would exhaust the stack)."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return
    depth = 0
    for bracket in _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS):
        depth += 1 if bracket in b"[{" else -1
        if depth > limit:
            raise Malformed(f"the JSON body nests deeper than {limit} levels")


class _SqlInteger(IntegerConverter):
    """`<int:...>` path values are ids and years stored as SQL INTEGER: a larger number matches no route (404)
    rather than overflowing the database."""

    def __init__(self, url_map, fixed_digits=0, min=0, max=SQL_INTEGER_MAX, signed=False):  # noqa: A002
        super().__init__(url_map, fixed_digits, min, max, signed)


class _JSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing bodies nested too deep before parsing them (`request.get_json` calls this)."""

    def loads(self, s, **kwargs):
        check_json_depth(s)
        return super().loads(s, **kwargs)


def load_json(schema: Schema, *, many: bool = False, partial=False):
    """Parse the request's JSON body with `schema`; 400 if not JSON, 422 naming each invalid field."""
    body = request.get_json(silent=True)
    if body is None:
        raise Malformed("the body must be JSON (Content-Type: application/json)")
    return schema.load(body, many=many, partial=partial)  # a ValidationError is answered 422, naming each field


def load_args(schema: Schema) -> dict:
    """Parse the query string with `schema`; 422 naming each invalid argument."""
    return schema.load(request.args.to_dict())


def date_arg(name: str):
    """The query argument `name` as a date (None when absent); 422 naming it when it is not YYYY-MM-DD."""
    from datetime import date
    value = request.args.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{name} is not a date", field=name, message="use YYYY-MM-DD") from None


def period_arg(value: str, field: str = "period") -> tuple[int, int]:
    """A `YYYY-MM` path or query value as (year, month); 422 naming `field` otherwise."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", value or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise Invalid(f"{field} must be YYYY-MM", field=field, message="YYYY-MM with a month from 01 to 12")
    return int(match.group(1)), int(match.group(2))


def uploaded_text(field: str = "file") -> str:
    """A CSV sent as the raw body or as a multipart `field`, decoded (UTF-8, else the Windows code page);
    413 over MAX_UPLOAD_TEXT_BYTES, 422 naming `field` when it is neither encoding (or not text at all)."""
    too_large = Problem(413, "Payload too large", f"a CSV import is at most {MAX_UPLOAD_TEXT_BYTES} bytes")
    if request.content_length is not None and request.content_length > MAX_UPLOAD_TEXT_BYTES + 64 * 1024:
        raise too_large  # refused before reading; the margin is the multipart envelope
    upload = request.files.get(field)
    raw = upload.read(MAX_UPLOAD_TEXT_BYTES + 1) if upload else request.stream.read(MAX_UPLOAD_TEXT_BYTES + 1)
    if len(raw) > MAX_UPLOAD_TEXT_BYTES:
        raise too_large
    if not raw:
        raise Malformed(f"send the CSV as the body or as a multipart field `{field}`")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")  # spreadsheets on Windows export in this code page
        except UnicodeDecodeError:
            raise Invalid("the file is neither UTF-8 nor Windows-1252 text", field=field,
                          message="save the spreadsheet as CSV (UTF-8)") from None
    if "\x00" in text:
        raise Invalid("the file holds NUL characters: it is not a CSV", field=field,
                      message="save the spreadsheet as CSV (UTF-8)")
    return text


def problem_response(problem: Problem) -> Response:
    """Render a Problem as application/problem+json."""
    body = problem.body(instance=request.path)
    g.refusal = {k: body[k] for k in ("title", "detail", "errors") if body.get(k)}  # for the access log
    response = jsonify(body)
    response.status_code = problem.status
    response.mimetype = "application/problem+json"
    if problem.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="kinerja"'
    return response


def readiness_checks(ctx: ServiceContext) -> dict[str, str]:
    """Whether the service's database and the broker answer: {"database": "ok"|error, "kafka": "ok"|"unreachable"}
    (the broker's answer is kept 5 s when it was good)."""
    checks = {}
    try:
        ping(ctx.engine)
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        checks["database"] = f"error: {exc.__class__.__name__}"
    now = time.monotonic()
    if now - ctx.kafka_checked_at > 5 or not ctx.kafka_ok:
        ctx.kafka_ok = broker_answers(ctx.settings.kafka_bootstrap_servers)
        ctx.kafka_checked_at = now
    checks["kafka"] = "ok" if ctx.kafka_ok else "unreachable"
    return checks


def _scrape_collectors(ctx: ServiceContext) -> list:
    """The service's scrape-time collectors (runtime.monitoring), built once per process."""
    if ctx.collectors is None:
        from contracts.registry import topics_of
        from runtime.monitoring import Broker, PipelineCollector, QueryCollector
        from runtime.service import service as service_modules
        name = ctx.settings.service
        spec = service_modules(name)
        topics = topics_of(spec.consumer_handlers(ctx.settings))
        ctx.collectors = [PipelineCollector(name, ctx.sessions, Broker(ctx.settings.kafka_bootstrap_servers,
                                                                       f"{name}-monitor"),
                                            topics, group=ctx.settings.consumer_group,
                                            readiness=lambda: readiness_checks(ctx))]
        gauges = spec.monitoring_gauges(ctx.service)
        if gauges:
            ctx.collectors.append(QueryCollector(ctx.sessions, gauges))
    return ctx.collectors


def metrics_response(collectors=()) -> Response:
    """The `/metrics` answer: the counters of every process of the service, and the scrape-time `collectors`."""
    body, content_type = exposition(collectors)
    return Response(body, content_type=content_type)


def _log_access(response: Response, endpoint: str, duration: float) -> None:
    """One structured line per request (its request id comes with every line); a refused request carries
    the problem it was answered with, so a 4xx leaves its reason in the logs."""
    status = response.status_code
    fields = {"request_id": g.get("request_id"), "method": request.method, "path": request.path, "endpoint": endpoint, "status": status,
              "duration_ms": round(duration * 1000, 1), "remote_addr": request.remote_addr}
    refusal = g.pop("refusal", None)
    if status >= 400 and refusal:
        fields["reason"] = refusal
    if status >= 500:
        level = logging.ERROR
    elif status >= 400:
        level = logging.WARNING
    else:
        level = logging.DEBUG if request.path in QUIET_PATHS else logging.INFO
    access_log.log(level, "request", extra=fields)


def create_service_app(settings: Settings, metadata, blueprints: list[Blueprint], title: str,
                       engine: Engine | None = None, service: Any = None) -> Flask:
    """Build a service's Flask app with the platform's common endpoints and behaviour; `service` is the service's
    own context (see `service_context()`)."""
    configure_logging(settings.service)
    app = Flask(settings.service)
    app.url_map.converters["int"] = _SqlInteger
    app.config["SETTINGS"] = settings
    app.json = _JSONProvider(app)
    app.json.sort_keys = False
    engine = engine or make_engine(settings.database_url)
    app.extensions["kinerja"] = ServiceContext(settings, engine, make_session_factory(engine, metadata), service)
    service = settings.service

    @app.before_request
    def _start():
        g.request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        duration = time.perf_counter() - g.get("started", time.perf_counter())
        REQUESTS.labels(service, request.method, endpoint, str(response.status_code)).inc()
        LATENCY.labels(service, endpoint).observe(duration)
        _log_access(response, endpoint, duration)
        return response

    app.after_request(allow_header)

    @app.teardown_request
    def _close(exc):
        session = g.pop("db", None)
        if session is not None:
            if exc is not None:
                session.rollback()
            session.close()

    @app.errorhandler(Problem)
    def _problem(exc: Problem):
        return problem_response(exc)

    @app.errorhandler(DomainError)
    def _refused(exc: DomainError):
        return problem_response(Problem(exc.status, exc.title, exc.detail, exc.errors, **exc.extra))

    @app.errorhandler(ValidationError)
    def _invalid(exc: ValidationError):
        return problem_response(from_validation_error(exc))

    @app.errorhandler(csv.Error)
    def _not_csv(exc: csv.Error):  # an import the csv module cannot read at all (see `uploaded_text`)
        return problem_response(Problem(422, "Validation failed", "the file is not a CSV",
                                        [{"field": "file", "message": str(exc)}]))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return problem_response(Problem(exc.code or 500, exc.name, exc.description))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        return problem_response(Problem(500, "Internal error", "the error was logged with this request's id",
                                        request_id=g.get("request_id")))

    @app.get("/healthz")
    def healthz():
        """Liveness: the process answers."""
        return {"status": "ok", "service": service}

    @app.get("/readyz")
    def readyz():
        """Readiness: the database and Kafka both answer."""
        checks = readiness_checks(context())
        ready = all(v == "ok" for v in checks.values())
        return {"status": "ready" if ready else "not ready", "checks": checks}, (200 if ready else 503)

    @app.get("/metrics")
    def metrics():
        """Prometheus metrics (aggregated over gunicorn workers)."""
        return metrics_response(_scrape_collectors(context()))

    @app.get("/openapi.json")
    def openapi():
        """The OpenAPI document of this service."""
        return build_openapi(current_app, title)

    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    return app
