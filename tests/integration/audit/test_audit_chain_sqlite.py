"""On SQLite (no roles, no trigger) the chain is the protection: an edited sign-in audit row is named by
`kinerja audit verify`, which exits 1."""
import os
import subprocess
import sys

from sqlalchemy import text

from identity import handlers
from runtime.db import make_engine, make_session_factory
from runtime.migrate import upgrade
from runtime.service import service


def test_an_edited_row_on_sqlite_is_named_by_audit_verify(tmp_path):
    url = f"sqlite:///{tmp_path / 'identity.db'}"
    upgrade("identity", url)
    engine = make_engine(url)
    sessions = make_session_factory(engine, service("identity").metadata)
    with sessions() as session:
        for attempt in range(4):
            handlers.audit(session, "sign_in_failed", "198001012006041001", remote_addr="10.0.0.1", attempt=attempt)
        session.commit()
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update(IDENTITY_DATABASE_URL=url, KINERJA_DATA_DIR=str(tmp_path))
    verify = [sys.executable, "-m", "runtime.cli", "audit", "verify", "identity", "--no-topic",
              "--jwks", str(tmp_path / "none.json")]
    (tmp_path / "none.json").write_text('{"keys": []}')
    whole = subprocess.run(verify, env=env, capture_output=True, text=True, timeout=120)
    assert whole.returncode == 0, whole.stdout + whole.stderr
    assert "ok      identity.audit_log: 4 record(s) chained, no signed head to check" in whole.stdout

    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET event = 'signed_in' WHERE seq = 2"))
    engine.dispose()
    broken = subprocess.run(verify, env=env, capture_output=True, text=True, timeout=120)
    assert broken.returncode == 1
    assert "BROKEN  identity.audit_log: seq 2 (id 2) row changed" in broken.stdout, broken.stdout
