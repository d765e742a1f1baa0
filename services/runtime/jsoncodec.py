"""The one JSON codec of the events' wire form and of the JSON that `runtime.db` writes: orjson.

An event is encoded once when published (`Event.to_json`) and decoded once by every consumer (`parse_event`),
and the JSON a batch sends to PostgreSQL (an attendance day's content, an inbox claim's rows) is encoded the same
way: at 10,000 events per second the standard library's encoder was about a tenth of a consumer's time (a built
day's content about 10 µs, against 0.5 µs here; an aware instant's `isoformat()` alone 2.5 µs). The values are
the ones `json.dumps` wrote with dates and instants as `isoformat()` and decimals as strings; the text differs
in spacing and in writing non-ASCII characters as UTF-8 instead of `\\uXXXX` escapes. orjson writes dates and
instants itself, as `isoformat()` does for every offset of whole minutes (every zone's offset today; it drops
the seconds of a local mean time's offset, which only dates before the zones' standard times have, and the
platform stores instants in UTC), and it also writes `time` values, which `json` refused. The audit chain's
canonical form is not this text: it stays on `json` (`runtime.audit_chain`), so its hashes do not depend on it.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS


def default(value):
    """What orjson leaves to `default`: exact decimals (a NUMERIC column's value; PostgreSQL reads the string). Dates,
    times and instants, which orjson writes itself, are written as it writes them (`isoformat()`) for an encoder
    that does not (`json.dumps`: `runtime.db`'s SQLite JSON columns)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, time)):  # a datetime is a date
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value, sort_keys: bool = False) -> str:
    """`value` as JSON text (with `sort_keys`, every object's keys in order)."""
    return orjson.dumps(value, default=default, option=_OPTIONS | orjson.OPT_SORT_KEYS if sort_keys else _OPTIONS).decode()


def isoformat(moment: datetime) -> str:
    """`moment.isoformat()`, written by orjson for an instant in UTC (0.4 µs; `isoformat()` of an instant whose
    zone is `datetime.UTC` takes 1.4, and a built day's dump has four): the same text, its offset being zero."""
    return orjson.dumps(moment)[1:-1].decode() if moment.tzinfo is UTC else moment.isoformat()


def loads(text: str | bytes):
    """The value of JSON `text`; ValueError (`json.JSONDecodeError`) when it is not JSON."""
    return orjson.loads(text)
