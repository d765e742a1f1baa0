"""The audit chain's pure rules: the hash of a record (a vector computed by hand), the walk that names the first
broken link, and signed heads checked against a JWKS."""
import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from runtime.audit_chain import (GENESIS, BadSignature, chain_hash, check_against_head, read_head, sign_head, walk)
from runtime.keys import KeyStore

# The canonical document, written out by hand: sorted keys, no spaces, the instant in UTC with microseconds.
HAND_WRITTEN = ('{"prev_hash":"' + "0" * 64 + '","record":{"action":"signed_in","at":"2026-12-01T01:02:03.000004+00:00",'
                '"detail":{"a":null,"b":[1,"x"]},"nip":"198001012006041001"},"seq":1,"stream":"identity.audit_log"}')
# printf '%s' "$HAND_WRITTEN" | sha256sum
HAND_HASH = "41a9e224386f67536a2188ddf6a3aa4a583ff462a8d13f1a317152d3fcf9bc55"


def test_the_hash_of_a_record_is_sha256_of_its_canonical_document():
    record = {"nip": "198001012006041001", "action": "signed_in", "detail": {"b": (1, "x"), "a": None},
              "at": datetime(2026, 12, 1, 8, 2, 3, 4, tzinfo=timezone(timedelta(hours=7)))}  # WIB, stored as UTC
    assert hashlib.sha256(HAND_WRITTEN.encode()).hexdigest() == HAND_HASH
    assert chain_hash("identity.audit_log", 1, record, GENESIS) == HAND_HASH


def test_a_naive_instant_as_sqlite_returns_it_is_utc():
    aware = {"at": datetime(2026, 12, 1, 1, 2, 3, 4, tzinfo=UTC)}
    naive = {"at": datetime(2026, 12, 1, 1, 2, 3, 4)}
    assert chain_hash("s", 1, aware, GENESIS) == chain_hash("s", 1, naive, GENESIS)


def test_the_hash_covers_the_stream_the_place_and_the_previous_hash():
    record = {"actor": "A", "action": "x"}
    base = chain_hash("s", 2, record, "a" * 64)
    assert len({base, chain_hash("t", 2, record, "a" * 64), chain_hash("s", 3, record, "a" * 64),
                chain_hash("s", 2, record, "b" * 64), chain_hash("s", 2, {**record, "actor": "B"}, "a" * 64)}) == 5


def _chain(n: int) -> list[dict]:
    rows, prev = [], GENESIS
    for seq in range(1, n + 1):
        row = {"id": seq * 10, "seq": seq, "actor": f"A{seq}", "action": "x", "prev_hash": prev}
        row["hash"] = prev = chain_hash("s", seq, {"actor": row["actor"], "action": "x"}, prev)
        rows.append(row)
    return rows


def test_a_whole_chain_walks_to_its_last_record():
    rows = _chain(5)
    assert walk("s", ("actor", "action"), rows) == (None, 5, rows[-1]["hash"])


def test_an_edited_row_is_the_first_broken_link():
    rows = _chain(5)
    rows[2]["actor"] = "intruder"
    broken, last, _ = walk("s", ("actor", "action"), rows)
    assert (broken.kind, broken.seq, broken.row_id, last) == ("row changed", 3, 30, 2)


def test_a_deleted_row_is_named_by_its_missing_seq():
    rows = _chain(5)
    del rows[1]
    broken, _, _ = walk("s", ("actor", "action"), rows)
    assert (broken.kind, broken.seq) == ("row deleted", 2)
    assert "seq 2 missing" in broken.detail


def test_a_row_rewritten_with_a_fresh_hash_breaks_the_next_link():
    rows = _chain(4)
    rows[1]["actor"] = "intruder"
    rows[1]["hash"] = chain_hash("s", 2, {"actor": "intruder", "action": "x"}, rows[0]["hash"])
    broken, _, _ = walk("s", ("actor", "action"), rows)
    assert (broken.kind, broken.seq) == ("link broken", 3)


def test_rows_truncated_after_the_signed_head_and_a_rewritten_chain_are_reported():
    rows = _chain(3)
    claims = {"seq": 5, "hash": "f" * 64, "at": "2026-12-01T00:00:00+00:00"}
    assert check_against_head("s", claims, {}, 3).kind == "rows truncated after the signed head"
    claims = {"seq": 2, "hash": "f" * 64, "at": "2026-12-01T00:00:00+00:00"}
    assert check_against_head("s", claims, {2: rows[1]["hash"]}, 3).kind == "chain rewritten"
    assert check_against_head("s", {**claims, "hash": rows[1]["hash"]}, {2: rows[1]["hash"]}, 3) is None


def test_a_signed_head_verifies_with_its_jwks_and_a_forged_one_does_not(tmp_path):
    platform, forger = KeyStore(tmp_path / "platform"), KeyStore(tmp_path / "forger")
    at = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    signed = sign_head(platform.signing_key(), "http://id", "s", 7, "a" * 64, at)
    claims = read_head(signed, platform.jwks())
    assert (claims["stream"], claims["seq"], claims["hash"], claims["at"]) == ("s", 7, "a" * 64,
                                                                             "2026-12-01T03:00:00.000000+00:00")
    forged = sign_head(forger.signing_key(), "http://id", "s", 7, "a" * 64, at)
    with pytest.raises(BadSignature, match="does not publish"):
        read_head(forged, platform.jwks())
    # the forger even reuses the platform's key id: the signature itself fails
    key = forger.signing_key()
    impostor = type(key)(platform.signing_key().kid, key.active_from, key.private_key)
    with pytest.raises(BadSignature, match="does not verify"):
        read_head(sign_head(impostor, "http://id", "s", 7, "a" * 64, at), platform.jwks())
