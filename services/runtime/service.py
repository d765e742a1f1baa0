"""What every service package provides, and how the runtime finds it.

Each service `<name>` has the same skeleton:
- `<name>/domain/`   pure rules (no I/O);
- `<name>/tables.py` its SQLAlchemy tables on `metadata` (plus the outbox and inbox);
- `<name>/handlers.py` use cases: the only code that touches the tables and publishes events;
- `<name>/http.py`   the Flask blueprint: requests in, handler calls, responses out;
- `<name>/consumers.py` `handlers(settings) -> {event type: handler(session, event)}` for what it consumes;
- `<name>/jobs.py`   optional: `run(settings, stop)`, background work that is neither HTTP nor an event
                    (run by `kinerja work <name>`);
- `<name>/monitoring.py` optional: `gauges(context) -> [runtime.monitoring.Gauge]`, queries on its own
                    tables that `/metrics` answers at scrape time;
- `<name>/app.py`    `create_app(settings=None)`; `migrations/` its Alembic history.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

SERVICES = {"attendance": 8001, "activities": 8002, "approvals": 8003, "scoring": 8004, "payroll": 8005,
            "directory": 8006, "identity": 8007}


@dataclass(frozen=True)
class ServiceModules:
    """The modules of one service, imported on demand."""

    name: str

    @property
    def port(self) -> int:
        """The service's default HTTP port."""
        return SERVICES[self.name]

    def module(self, part: str):
        """Import `<name>.<part>`."""
        return importlib.import_module(f"{self.name}.{part}")

    @property
    def metadata(self):
        """The service's table metadata."""
        return self.module("tables").metadata

    def optional_module(self, part: str):
        """`<name>.<part>`, or None when the service has no such module."""
        try:
            return self.module(part)
        except ModuleNotFoundError as exc:
            if exc.name != f"{self.name}.{part}":
                raise
            return None

    def consumer_handlers(self, settings) -> dict:
        """Event type -> handler for the events this service consumes (empty if it has no consumers module),
        with the revoked-session projection for a service that keeps one (`runtime.revocation`)."""
        from runtime import revocation
        module = self.optional_module("consumers")
        if module is None:
            return {}
        kept = revocation.HANDLERS if revocation.TABLE in self.metadata.tables else {}
        return {**module.handlers(settings), **kept}

    def monitoring_gauges(self, context) -> list:
        """The gauges the service declares in `<name>/monitoring.py` (empty without one), given its context."""
        module = self.optional_module("monitoring")
        return list(module.gauges(context)) if module else []


def has_jobs(name: str) -> bool:
    """Whether the service has background jobs (`<name>/jobs.py`)."""
    import importlib.util
    return importlib.util.find_spec(f"{name}.jobs") is not None


def service(name: str) -> ServiceModules:
    """The named service, or ValueError."""
    if name not in SERVICES:
        raise ValueError(f"unknown service {name!r}; one of {', '.join(sorted(SERVICES))}")
    return ServiceModules(name)
