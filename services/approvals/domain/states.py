"""The states of an activity entry, as the activities service publishes them."""

from enum import StrEnum


class EntryState(StrEnum):
    """Where an entry stands; `struck` is *dicoret*: ruled out by the supervisor, final."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    STRUCK = "struck"
    WITHDRAWN = "withdrawn"


DECIDED_STATES = frozenset({EntryState.APPROVED, EntryState.REJECTED, EntryState.STRUCK})
