"""The migration that stores how entries stand fills existing rows by the same rule the handlers apply."""
from datetime import date, datetime, timezone

import pytest
from alembic import command
from sqlalchemy import select, text

from runtime.db import make_engine
from runtime.migrate import alembic_config, upgrade

BEFORE = "9489cff95325"
AT = datetime(2024, 3, 5, 1, 0, tzinfo=timezone.utc)
NIP = "198001012005011001"
# entry_id: (entry version, entry state, decision or None: (entry_version, state, credited, creditable, verification))
CASES = {
    "undecided": (1, "submitted", None),
    "approved": (1, "submitted", (1, "approved", 80, True, None)),
    "stale-decision": (2, "submitted", (1, "approved", 80, True, None)),  # edited after its approval
    "withdrawn": (2, "withdrawn", (2, "approved", 80, True, None)),
    "sampled-waiting": (1, "submitted", (1, "approved", 90, False, None)),
    "overturned": (1, "submitted", (1, "approved", 90, False, (False, "rejected", 0, False))),
    "upheld": (1, "submitted", (1, "approved", 90, False, (True, "approved", 90, None))),
}


def _seed(conn):
    for entry_id, (version, state, decision) in CASES.items():
        conn.execute(text(
            "INSERT INTO entries (entry_id, version, employee_id, local_date, zone, start_at, end_at, quantity, "
            "duration_minutes, credited_minutes, state, updated_at) VALUES (:id, :v, :nip, :day, 'Asia/Jakarta', "
            ":at, :at, 1, 80, 70, :state, :at)"), {"id": entry_id, "v": version, "nip": NIP, "day": date(2024, 3, 5),
                                                   "at": AT, "state": state})
        if decision is None:
            continue
        entry_version, d_state, credited, creditable, verification = decision
        verified, v_state, v_credited, v_creditable = verification or (None, None, None, None)
        conn.execute(text(
            "INSERT INTO entry_decisions (entry_id, employee_id, decision_id, entry_version, action, state, "
            "credited_minutes, creditable, sampled, decider_id, decided_at, verified, verified_state, "
            "verified_credited_minutes, verified_creditable, updated_at) VALUES (:id, :nip, :d, :ev, 'approve', "
            ":state, :credited, :creditable, :sampled, :nip, :at, :verified, :v_state, :v_credited, :v_creditable, "
            ":at)"), {"id": entry_id, "nip": NIP, "d": f"d-{entry_id}", "ev": entry_version, "state": d_state,
                      "credited": credited, "creditable": creditable, "sampled": not creditable, "at": AT,
                      "verified": verified, "v_state": v_state, "v_credited": v_credited,
                      "v_creditable": v_creditable})


@pytest.fixture(params=["postgresql", "sqlite"])
def url_before(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'scoring.db'}"
    else:
        url = request.getfixturevalue("new_database")("scoring")
        command.downgrade(alembic_config("scoring", url), BEFORE)
    upgrade("scoring", url, BEFORE)
    return url


def test_existing_entries_are_filled_as_the_handlers_would_stand_them(url_before):
    from scoring.handlers import _standing_query
    from scoring.tables import entries
    engine = make_engine(url_before)
    try:
        with engine.begin() as conn:
            _seed(conn)
        upgrade("scoring", url_before)
        with engine.connect() as conn:
            stored = {r.entry_id: tuple(r)[1:] for r in conn.execute(select(
                entries.c.entry_id, entries.c.standing_state, entries.c.standing_verified,
                entries.c.standing_creditable, entries.c.standing_credited_minutes))}
            ruled = {entry_id: tuple(conn.execute(_standing_query().where(entries.c.entry_id == entry_id)).one())
                     for entry_id in CASES}
    finally:
        engine.dispose()
    assert stored == ruled
    assert stored["undecided"] == ("submitted", None, False, 70)
    assert stored["approved"] == ("approved", None, True, 80)
    assert stored["stale-decision"] == ("submitted", None, False, 70)
    assert stored["withdrawn"] == ("withdrawn", None, False, 70)
    assert stored["sampled-waiting"] == ("approved", None, False, 90)
    assert stored["overturned"] == ("rejected", False, False, 0)
    assert stored["upheld"] == ("approved", True, False, 90)
