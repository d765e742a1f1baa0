"""The states of an activity entry, as the activities service publishes them (the shared vocabulary)."""

from contracts.vocabulary import DECIDED_STATES, EntryState

__all__ = ["DECIDED_STATES", "EntryState"]
