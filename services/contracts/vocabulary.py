"""Words every service shares: the NIP pattern and the states and actions of an activity entry.

Written once here; event schemas, request schemas and the domains of activities and approvals use these.
"""
from __future__ import annotations

import re
from enum import StrEnum

from marshmallow import validate

# The NIP (Nomor Induk Pegawai): 18 digits. directory.domain.nip checks what the digits mean.
NIP_PATTERN = r"^\d{18}$"
NIP = validate.Regexp(NIP_PATTERN, error="must be an 18-digit NIP")
_NIP = re.compile(NIP_PATTERN)


def is_nip(value: str) -> bool:
    """Whether `value` has the NIP's form (18 digits)."""
    return bool(_NIP.match(value or ""))


class EntryState(StrEnum):
    """Where an activity entry stands; `struck` is *dicoret*: the supervisor ruled it out for good."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    STRUCK = "struck"
    WITHDRAWN = "withdrawn"


ENTRY_STATES = tuple(state.value for state in EntryState)
DECIDED_STATES = frozenset({EntryState.APPROVED, EntryState.REJECTED, EntryState.STRUCK})
DECISION_ACTIONS = ("approve", "reject", "strike", "set_minutes")
VERDICTS = ("uphold", "overturn")
