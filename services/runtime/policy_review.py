"""Reviewing a policy file before a region adopts it: `kinerja policy check FILE` and `kinerja policy diff A B`.

`check` validates every section with the loader of the service that reads it (the same code that refuses the
file at start-up) and names every error by its dotted key. `diff` loads both files with every default
applied, so a key left out and a key set to its default read the same, and lists the rules that differ.
"""
from __future__ import annotations

import dataclasses
from datetime import date, time
from decimal import Decimal
from enum import Enum
from importlib import import_module
from pathlib import Path
from typing import Mapping

from marshmallow import ValidationError

from runtime.discipline import load_discipline
from runtime.policy import PolicyError, keyed_messages, read_policy, section_of

# The sections each service validates at start-up; scoring and payroll also read the shared [discipline].
SECTIONS = ("attendance", "activities", "approvals", "scoring", "payroll")
SHARED_DISCIPLINE = ("scoring", "payroll")
KNOWN = frozenset(SECTIONS) | {"discipline", "organisation"}


def _loader(section: str):
    return import_module(f"{section}.domain.policy").load_policy


def check(document: Mapping) -> list[tuple[str, str]]:
    """Every error of a parsed policy as (dotted key, message); empty when every service accepts it."""
    errors = [(key, "not a section any service reads") for key in document if key not in KNOWN]
    try:
        load_discipline(document.get("discipline", {}))
    except ValidationError as exc:
        errors += keyed_messages(exc.messages, "discipline")
    for section in SECTIONS:
        try:
            _loader(section)(document.get(section, {}))  # the section alone: [discipline] is checked above
        except ValidationError as exc:
            errors += keyed_messages(exc.messages, section)
    return errors


def effective(document: Mapping, source: str = "policy") -> dict[str, object]:
    """The policy with every default applied, as dotted key -> plain value; PolicyError when it is invalid."""
    values: dict[str, object] = {}
    _flatten(load_discipline(document.get("discipline", {})), "discipline", values)
    for section in SECTIONS:
        loaded = section_of(document, section, _loader(section), discipline=section in SHARED_DISCIPLINE,
                            source=source)
        _flatten(loaded, section, values)
    for key, value in document.get("organisation", {}).items():
        values[f"organisation.{key}"] = value
    # The shared rates each of scoring and payroll carries are shown once, as [discipline].
    return {key: value for key, value in values.items()
            if not key.startswith(("scoring.discipline.", "payroll.discipline.")) or key == "payroll.discipline.deduct_from"}


def diff(a: Mapping, b: Mapping, name_a: str = "A", name_b: str = "B") -> list[str]:
    """The rules that differ between two policies, one sentence each, in key order."""
    left, right = effective(a, name_a), effective(b, name_b)
    lines = []
    for key in sorted(set(left) | set(right)):
        if key not in right:
            lines.append(f"{key}: {_words(left[key])} in {name_a}; not set in {name_b}")
        elif key not in left:
            lines.append(f"{key}: not set in {name_a}; {_words(right[key])} in {name_b}")
        elif left[key] != right[key]:
            lines.append(f"{key}: {_words(left[key])} in {name_a}, {_words(right[key])} in {name_b}")
    return lines


def check_file(path: str | Path) -> list[tuple[str, str]]:
    """`check` on a file; a file that is missing or not TOML is one error keyed by the file."""
    try:
        return check(read_policy(path))
    except PolicyError as exc:
        return [(str(path), str(exc))]


def _flatten(value, prefix: str, out: dict) -> None:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            _flatten(getattr(value, item.name), f"{prefix}.{item.name}", out)
    elif isinstance(value, Mapping):  # an empty table sets nothing: its keys read "not set"
        for key, inner in value.items():
            _flatten(inner, f"{prefix}.{key}", out)
    elif isinstance(value, (list, tuple)) and value and any(dataclasses.is_dataclass(v) for v in value):
        for index, inner in enumerate(value):
            _flatten(inner, f"{prefix}.{index}", out)
    else:
        out[prefix] = _plain(value)


def _plain(value):
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return value.normalize() if value == value.to_integral_value() else value
    if isinstance(value, (frozenset, set)):
        return tuple(sorted(_plain(v) for v in value))
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    return value


def _words(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, tuple):
        return "[" + ", ".join(_words(v) for v in value) + "]" if value else "none"
    return str(value)
