import pytest

from activities.domain import NEW_VERSION_ACTIONS, EntryAction, EntryState, InvalidTransition, transition

S, A = EntryState, EntryAction

LEGAL = [
    (S.SUBMITTED, A.EDIT, S.SUBMITTED),
    (S.SUBMITTED, A.WITHDRAW, S.WITHDRAWN),
    (S.SUBMITTED, A.APPROVE, S.APPROVED),
    (S.SUBMITTED, A.REJECT, S.REJECTED),
    (S.SUBMITTED, A.STRIKE, S.STRUCK),
    (S.REJECTED, A.REVISE, S.SUBMITTED),
]
LEGAL_PAIRS = {(state, action) for state, action, _ in LEGAL}
ILLEGAL = [(state, action) for state in S for action in A if (state, action) not in LEGAL_PAIRS]


@pytest.mark.parametrize("state, action, after", LEGAL)
def test_legal_moves(state, action, after):
    assert transition(state, action) == after


@pytest.mark.parametrize("state, action", ILLEGAL)
def test_every_other_move_is_refused_with_a_reason(state, action):
    with pytest.raises(InvalidTransition, match=f"cannot {action} a {state} entry: .+"):
        transition(state, action)


@pytest.mark.parametrize("state", [S.APPROVED, S.STRUCK])
def test_approved_and_struck_entries_are_final(state):
    for action in A:
        with pytest.raises(InvalidTransition, match="final"):
            transition(state, action)


@pytest.mark.parametrize("state, action, _", LEGAL)
def test_nothing_moves_once_the_month_is_locked(state, action, _):
    with pytest.raises(InvalidTransition, match="month is closed"):
        transition(state, action, month_locked=True)


def test_plain_strings_from_storage_are_accepted():
    assert transition("rejected", "revise") == S.SUBMITTED


@pytest.mark.parametrize("action, new_version", [(A.EDIT, True), (A.REVISE, True), (A.WITHDRAW, False),
                                                 (A.APPROVE, False)])
def test_edits_and_revisions_make_a_new_version(action, new_version):
    assert (action in NEW_VERSION_ACTIONS) is new_version
