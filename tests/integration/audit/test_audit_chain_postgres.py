"""The audit trails on PostgreSQL under least privilege: the service's role can only insert and read them, and
what an owner can still do to them (edit, delete, truncate) is named by `kinerja audit verify`, which exits 1."""
import hashlib
import json
import os
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from runtime.audit_chain import append, head, publish_head, streams_of, walk
from runtime.db import make_engine, make_session_factory
from runtime.keys import KeyStore
from runtime.migrate import upgrade
from runtime.service import service

AUDITED = ("approvals", "identity", "payroll")
EMPTY_RUN = hashlib.sha256(b"[]").hexdigest()  # the content hash of a run without payslips


@pytest.fixture
def roles(pg_server_url):
    """Factory: a database for a service owned by a fresh owner role and migrated as it, granting a fresh
    service role (neither superuser); returns (owner URL, service URL). Everything is dropped afterwards."""
    admin = create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    made = []

    def make(name: str) -> tuple[str, str]:
        tag = uuid.uuid4().hex[:8]
        owner, role, database = f"own_{tag}", f"svc_{tag}", f"t_audit_{name}_{tag}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE ROLE "{owner}" LOGIN'))
            conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
            conn.execute(text(f'CREATE DATABASE "{database}" OWNER "{owner}"'))
        made.append((database, owner, role))
        base = make_url(pg_server_url).set(database=database)
        owner_url = base.set(username=owner).render_as_string(hide_password=False)
        upgrade(name, owner_url, service_role=role)
        return owner_url, base.set(username=role).render_as_string(hide_password=False)

    yield make
    with admin.connect() as conn:
        for database, owner, role in made:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{owner}"'))
    admin.dispose()


def _sessions(name: str, url: str):
    return make_session_factory(make_engine(url), service(name).metadata)


def _append(sessions, stream, count: int, actor: str = "198001012006041001") -> None:
    samples = {
        "approvals.audit": lambda i: {"at": datetime.now(UTC), "actor": actor, "action": "decision.approve",
                                      "entity": f"entry:E-{i}", "entry_id": f"E-{i}", "before": {"state": "submitted"},
                                      "after": {"state": "approved"}, "changed": ["state"]},
        "identity.audit_log": lambda i: {"at": datetime.now(UTC), "event": "signed_in", "nip": actor,
                                         "actor": None, "remote_addr": "10.0.0.1", "detail": {"attempt": i}},
        "payroll.audit": lambda i: {"at": datetime.now(UTC), "actor": actor, "action": "run.approved",
                                    "run_id": f"R-{i}", "organisation": "Kab. Contoh", "year": 2026, "month": 11,
                                    "employees": 0, "gross_total": 0, "net_total": 0,
                                    "content_hash": EMPTY_RUN},
    }
    for i in range(count):
        with sessions() as session:
            append(session, stream, samples[stream.name](i))
            session.commit()


@pytest.mark.parametrize("name", AUDITED)
def test_the_service_role_can_only_insert_and_read_the_audit_trail(roles, name):
    owner_url, service_url = roles(name)
    stream = streams_of(name)[0]
    sessions = _sessions(name, service_url)
    _append(sessions, stream, 2)
    table = stream.table.name
    refused = [f'TRUNCATE "{table}"', f'UPDATE "{table}" SET seq = seq', f'DELETE FROM "{table}"',
               f'ALTER TABLE "{table}" DISABLE TRIGGER USER', f'ALTER TABLE "{table}" DISABLE TRIGGER ALL',
               "SET session_replication_role = replica", f'DROP TABLE "{table}"']
    engine = create_engine(service_url)
    for statement in refused:
        with engine.connect() as conn, pytest.raises(DBAPIError):
            conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar() == 2
        # ordinary DML on the service's other tables stays allowed
        conn.execute(text("INSERT INTO revoked_sessions (sid, expires_at) VALUES ('s1', now())"))
        conn.execute(text("UPDATE revoked_sessions SET expires_at = now() WHERE sid = 's1'"))
        conn.execute(text("DELETE FROM revoked_sessions WHERE sid = 's1'"))
        conn.commit()
    engine.dispose()


def _verify(name: str, service_url: str, head_file, jwks_file) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env[f"{name.upper()}_DATABASE_URL"] = service_url
    return subprocess.run([sys.executable, "-m", "runtime.cli", "audit", "verify", name, "--no-topic",
                           "--head-file", str(head_file), "--jwks", str(jwks_file)],
                          env=env, capture_output=True, text=True, timeout=120)


def _signed_head(name: str, service_url: str, keys: KeyStore, tmp_path):
    stream = streams_of(name)[0]
    sessions = _sessions(name, service_url)
    with sessions() as session:
        signed = publish_head(session, stream, keys.signing_key(), "http://identity.test", name)
        session.commit()
    head_file, jwks_file = tmp_path / "heads.json", tmp_path / "jwks.json"
    head_file.write_text(json.dumps([{**signed, "at": signed["at"].isoformat()}]))
    jwks_file.write_text(json.dumps(keys.jwks()))
    return head_file, jwks_file


TAMPERING = {
    "edited": ('UPDATE "{t}" SET actor = \'intruder\' WHERE seq = 3', "seq 3", "row changed"),
    "deleted": ('DELETE FROM "{t}" WHERE seq = 2', "seq 2", "row deleted"),
    "truncated": ('TRUNCATE "{t}"', "seq 1", "rows truncated after the signed head"),
    "tail deleted": ('DELETE FROM "{t}" WHERE seq > 3', "seq 4", "rows truncated after the signed head"),
}


@pytest.mark.parametrize("tampering", sorted(TAMPERING))
@pytest.mark.parametrize("name", ["approvals", "payroll"])
def test_an_owner_rewriting_the_trail_is_named_by_audit_verify(roles, tmp_path, name, tampering):
    owner_url, service_url = roles(name)
    stream = streams_of(name)[0]
    _append(_sessions(name, service_url), stream, 5)
    head_file, jwks_file = _signed_head(name, service_url, KeyStore(tmp_path / "keys"), tmp_path)
    clean = _verify(name, service_url, head_file, jwks_file)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert f"ok      {stream.name}: 5 record(s) chained, signed head seq 5 matches" in clean.stdout

    statement, where, kind = TAMPERING[tampering]
    owner = create_engine(owner_url)
    with owner.begin() as conn:  # the owner may disable its own table's trigger (not set session_replication_role)
        conn.execute(text(f'ALTER TABLE "{stream.table.name}" DISABLE TRIGGER USER'))
        conn.execute(text(statement.format(t=stream.table.name)))
        conn.execute(text(f'ALTER TABLE "{stream.table.name}" ENABLE TRIGGER USER'))
    owner.dispose()
    broken = _verify(name, service_url, head_file, jwks_file)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert f"BROKEN  {stream.name}: {where}" in broken.stdout and kind in broken.stdout, broken.stdout


def test_an_owner_rewriting_every_hash_after_an_edit_is_caught_by_the_signed_head(roles, tmp_path):
    owner_url, service_url = roles("identity")
    stream = streams_of("identity")[0]
    _append(_sessions("identity", service_url), stream, 4)
    head_file, jwks_file = _signed_head("identity", service_url, KeyStore(tmp_path / "keys"), tmp_path)
    # The owner edits seq 2 and recomputes the chain from there: every link holds, the signed head does not.
    owner_sessions = _sessions("identity", owner_url)
    with owner_sessions() as session:
        rows = [dict(r) for r in session.execute(select(stream.table).order_by(stream.table.c.seq)).mappings()]
        session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        session.execute(text("TRUNCATE audit_log"))
        rows[1]["nip"] = "199901012020121001"
        for row in rows:
            append(session, stream, {k: v for k, v in row.items() if k not in ("seq", "prev_hash", "hash")})
        session.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
        session.commit()
    assert walk(stream.name, stream.fields, rows)[0] is not None  # the old hashes no longer fit the edited row
    result = _verify("identity", service_url, head_file, jwks_file)
    assert result.returncode == 1
    assert "BROKEN  identity.audit_log: seq 4 chain rewritten" in result.stdout, result.stdout


def test_a_forged_head_is_reported_as_a_bad_signature(roles, tmp_path):
    _, service_url = roles("identity")
    stream = streams_of("identity")[0]
    _append(_sessions("identity", service_url), stream, 2)
    head_file, _ = _signed_head("identity", service_url, KeyStore(tmp_path / "forger"), tmp_path)
    jwks_file = tmp_path / "platform-jwks.json"
    platform = KeyStore(tmp_path / "platform")
    platform.ensure()
    jwks_file.write_text(json.dumps(platform.jwks()))
    result = _verify("identity", service_url, head_file, jwks_file)
    assert result.returncode == 1
    assert "BROKEN  identity.audit_log: seq 2 signature bad" in result.stdout, result.stdout


def test_appends_from_two_sessions_at_once_stay_one_linear_chain(roles):
    _, service_url = roles("identity")
    stream = streams_of("identity")[0]
    sessions = _sessions("identity", service_url)
    errors = []

    def writer(actor: str):
        try:
            _append(sessions, stream, 40, actor)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(actor,)) for actor in ("198001012006041001", "198002022006042002")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with sessions() as session:
        rows = [dict(r) for r in session.execute(select(stream.table).order_by(stream.table.c.seq)).mappings()]
        assert head(session, stream)[0] == 80
    assert [r["seq"] for r in rows] == list(range(1, 81))
    assert walk(stream.name, stream.fields, rows) == (None, 80, rows[-1]["hash"])
    assert {r["nip"] for r in rows} == {"198001012006041001", "198002022006042002"}


BEFORE_THE_CHAIN = {
    "identity": ("111f22c269f3", "INSERT INTO audit_log (at, event, nip, detail) VALUES (now(), 'signed_in', :who, "
                                 "'{\"x\": [1, 2]}')", "nip"),
    "approvals": ("df99fb37c250", "INSERT INTO audit (at, actor, action, entity, entry_id, before, after, changed) "
                                  "VALUES (now(), :who, 'decision.approve', 'entry:E-1', 'E-1', "
                                  "'{\"state\": \"submitted\"}', '{\"state\": \"approved\"}', '[\"state\"]')",
                  "actor"),
}


@pytest.mark.parametrize("name", sorted(BEFORE_THE_CHAIN))
def test_the_migration_chains_the_rows_already_there(pg_server_url, name):
    revision, insert, who = BEFORE_THE_CHAIN[name]
    database = f"t_audit_backfill_{uuid.uuid4().hex[:8]}"
    url = make_url(pg_server_url).set(database=database).render_as_string(hide_password=False)
    upgrade(name, url, revision)  # before the chain
    engine = create_engine(url)
    people = ["198001012006041001", "198002022006042002", "198003032006043003"]
    try:
        with engine.begin() as conn:
            for nip in people:
                conn.execute(text(insert), {"who": nip})
        upgrade(name, url)  # approvals: its append-only trigger is disabled for the backfill only
        stream = streams_of(name)[0]
        sessions = make_session_factory(engine, service(name).metadata)
        _append(sessions, stream, 1)
        with sessions() as session:
            rows = [dict(r) for r in session.execute(select(stream.table).order_by(stream.table.c.seq)).mappings()]
        assert [r[who] for r in rows[:3]] == people
        assert walk(stream.name, stream.fields, rows) == (None, 4, rows[-1]["hash"])
        with engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text(f'UPDATE "{stream.table.name}" SET {who} = NULL'))
    finally:
        engine.dispose()
        admin = create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


def test_an_approved_runs_payslips_edited_afterwards_are_named_by_audit_verify(roles, tmp_path):
    from payroll import handlers as payroll
    owner_url, service_url = roles("payroll")
    stream = streams_of("payroll")[0]
    sessions = _sessions("payroll", service_url)
    line = {"code": "TPP", "description": "TPP", "rule": "r", "evidence": {"score": 90}, "amount": 1_000_000}
    with sessions() as session:
        session.execute(service("payroll").metadata.tables["payslips"].insert(), [
            {"run_id": "R-1", "employee_id": nip, "name": "A", "unit_id": "U", "year": 2026, "month": 11,
             "score_version": 1, "gross": 1_000_000, "net": 1_000_000, "lines": [line], "facts": {}}
            for nip in ("198001012006041001", "198002022006042002")])
        digest = payroll.content_hash(payroll._payslips(session, "R-1"))
        append(session, stream, {"at": datetime.now(UTC), "actor": "198003032006043003", "action": "run.approved",
                                 "run_id": "R-1", "organisation": "Kab. Contoh", "year": 2026, "month": 11,
                                 "employees": 2, "gross_total": 2_000_000, "net_total": 2_000_000,
                                 "content_hash": digest})
        session.commit()
    head_file, jwks_file = _signed_head("payroll", service_url, KeyStore(tmp_path / "keys"), tmp_path)
    assert _verify("payroll", service_url, head_file, jwks_file).returncode == 0
    with create_engine(owner_url).begin() as conn:
        conn.execute(text("UPDATE payslips SET net = net + 500000 WHERE employee_id = '198002022006042002'"))
    result = _verify("payroll", service_url, head_file, jwks_file)
    assert result.returncode == 1
    assert "BROKEN  payroll.audit: seq 1 (id 1) content changed: run R-1 (2026-11)" in result.stdout, result.stdout
