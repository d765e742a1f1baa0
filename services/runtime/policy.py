"""The regional policy file (TOML): read once at start-up, each service validating its own section."""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Callable, TypeVar

from marshmallow import ValidationError

from runtime.discipline import load_discipline

T = TypeVar("T")


def presets_dir() -> Path:
    """Where the shipped policy presets live (`deploy/policies`, one TOML file per region)."""
    from runtime.config import repo_root
    return repo_root() / "deploy" / "policies"


def preset_names() -> list[str]:
    """The shipped presets by name (the file's stem: "national", "surabaya", ...)."""
    return sorted(path.stem for path in presets_dir().glob("*.toml"))


class PolicyError(ValueError):
    """A policy file that cannot be used, with the file, the section and the fields at fault; `errors` lists
    each fault as (key, message), the key a dotted path such as `payroll.base_amounts.3`."""

    def __init__(self, message: str, errors: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.errors = errors or []


def keyed_messages(messages, prefix: str) -> list[tuple[str, str]]:
    """marshmallow's nested error messages as (dotted key, message) pairs."""
    if isinstance(messages, dict):
        return [pair for key, inner in messages.items()
                for pair in keyed_messages(inner, f"{prefix}.{key}" if key != "_schema" else prefix)]
    if isinstance(messages, list):
        if all(isinstance(item, str) for item in messages):
            return [(prefix, item) for item in messages]
        return [pair for item in messages for pair in keyed_messages(item, prefix)]
    return [(prefix, str(messages))]


def parse_policy(text: str, source: str = "policy") -> dict:
    """Parse a policy given as text (an upload)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from None


def read_policy(path: str | Path) -> dict:
    """Parse the policy file."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise PolicyError(f"policy file not found: {path} (set POLICY_FILE)") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML: {exc}") from None


def load_section(path: str | Path, section: str, loader: Callable[..., T], *, discipline: bool = False) -> T:
    """Validate one section of the policy file with the service's own loader; raise PolicyError naming the fields.

    With `discipline`, the loader also receives the shared `[discipline]` section (validated first)."""
    return section_of(read_policy(path), section, loader, discipline=discipline, source=str(path))


def section_of(document: dict, section: str, loader: Callable[..., T], *, discipline: bool = False,
               source: str = "policy") -> T:
    """`load_section` on a policy already parsed (an uploaded one, say); `source` names it in the error."""
    shared = ()
    if discipline:
        try:
            shared = (load_discipline(document.get("discipline", {})),)
        except ValidationError as exc:
            raise PolicyError(f"{source} [discipline]: {exc.messages}", keyed_messages(exc.messages, "discipline")) \
                from None
    try:
        return loader(document.get(section, {}), *shared)
    except ValidationError as exc:
        raise PolicyError(f"{source} [{section}]: {exc.messages}", keyed_messages(exc.messages, section)) from None
