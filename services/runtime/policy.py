"""The regional policy file (TOML): read once at start-up, each service validating its own section."""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Callable, TypeVar

from marshmallow import ValidationError

from runtime.discipline import load_discipline

T = TypeVar("T")


class PolicyError(ValueError):
    """A policy file that cannot be used, with the file, the section and the fields at fault."""


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
    document = read_policy(path)
    shared = ()
    if discipline:
        try:
            shared = (load_discipline(document.get("discipline", {})),)
        except ValidationError as exc:
            raise PolicyError(f"{path} [discipline]: {exc.messages}") from None
    try:
        return loader(document.get(section, {}), *shared)
    except ValidationError as exc:
        raise PolicyError(f"{path} [{section}]: {exc.messages}") from None
