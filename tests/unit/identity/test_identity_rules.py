"""Pure sign-in rules: codes people can type, acceptable passwords, and when failures lock an account."""
from datetime import datetime, timedelta, timezone

import pytest

from identity.domain.accounts import (CODE_ALPHABET, SignInPolicy, after_failure, digest, locked, new_code,
                                      normalise_code, password_problems)

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)


def test_a_code_has_no_look_alike_characters_and_is_read_back_however_typed():
    code = new_code()
    assert len(code) == 11 and code[5] == "-"
    assert set(code.replace("-", "")) <= set(CODE_ALPHABET) and not set("01OIL") & set(code)
    assert normalise_code(f" {code.lower()} ") == code.replace("-", "")
    assert digest(normalise_code(code)) != normalise_code(code) and len(digest(code)) == 64


def test_passwords_too_short_or_holding_the_nip_are_refused():
    nip = "198001012005011004"
    assert password_problems(nip, "short") == ["at least 10 characters"]
    assert "must not contain the NIP" in password_problems(nip, f"x{nip}")
    assert password_problems(nip, "aaaaaaaaaaaa") == ["too few different characters"]
    assert password_problems(nip, "kopi-tubruk-2026") == []


def test_the_fifth_failure_locks_for_the_policy_minutes_and_restarts_the_count():
    policy = SignInPolicy(max_failures=5, lock_minutes=15)
    failures, lock = 0, None
    for _ in range(4):
        failures, lock = after_failure(failures, policy, NOW)
        assert lock is None
    failures, lock = after_failure(failures, policy, NOW)
    assert failures == 0 and lock == NOW + timedelta(minutes=15)
    assert locked(lock, NOW + timedelta(minutes=14)) and not locked(lock, NOW + timedelta(minutes=15))
    assert not locked(None, NOW)


def test_the_policy_comes_from_settings_and_refuses_nonsense():
    assert SignInPolicy.from_settings({"IDENTITY_MAX_FAILURES": "3"}).max_failures == 3
    assert SignInPolicy.from_settings({}) == SignInPolicy()
    with pytest.raises(ValueError, match="IDENTITY_LOCK_MINUTES"):
        SignInPolicy.from_settings({"IDENTITY_LOCK_MINUTES": "0"})
