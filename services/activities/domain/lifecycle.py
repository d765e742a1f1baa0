"""The life of an activity entry: which action moves it from which state to which."""

from enum import StrEnum

from contracts.vocabulary import EntryState  # the states every service shares; the moves between them are here


class EntryAction(StrEnum):
    """What staff (edit, withdraw, revise) or their supervisor (approve, reject, strike) do to an entry."""

    EDIT = "edit"
    WITHDRAW = "withdraw"
    REVISE = "revise"
    APPROVE = "approve"
    REJECT = "reject"
    STRIKE = "strike"


class InvalidTransition(ValueError):
    """An action that the entry's state (or its locked month) does not allow; the message says why."""


# Edits and revisions change what the supervisor sees, so a decision must name the version it judged.
NEW_VERSION_ACTIONS = frozenset({EntryAction.EDIT, EntryAction.REVISE})

_MOVES = {
    (EntryState.SUBMITTED, EntryAction.EDIT): EntryState.SUBMITTED,
    (EntryState.SUBMITTED, EntryAction.WITHDRAW): EntryState.WITHDRAWN,
    (EntryState.SUBMITTED, EntryAction.APPROVE): EntryState.APPROVED,
    (EntryState.SUBMITTED, EntryAction.REJECT): EntryState.REJECTED,
    (EntryState.SUBMITTED, EntryAction.STRIKE): EntryState.STRUCK,
    (EntryState.REJECTED, EntryAction.REVISE): EntryState.SUBMITTED,
}

_WHY_NOT = {
    EntryState.APPROVED: "an approved entry is final; only the verification unit can overturn it",
    EntryState.STRUCK: "a struck (dicoret) entry is final",
    EntryState.WITHDRAWN: "a withdrawn entry is final",
    EntryState.REJECTED: "a rejected entry can only be revised",
    EntryState.SUBMITTED: "only a rejected entry can be revised",
}


def transition(state: EntryState, action: EntryAction, *, month_locked: bool = False) -> EntryState:
    """Return the state after `action`, or raise InvalidTransition with the reason it is refused."""
    if month_locked:
        raise InvalidTransition("the month is closed; its entries can no longer change")
    try:
        return _MOVES[(EntryState(state), EntryAction(action))]
    except KeyError:
        raise InvalidTransition(f"cannot {action} a {state} entry: {_WHY_NOT[EntryState(state)]}") from None
