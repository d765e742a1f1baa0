"""Every service's outbox stops keeping its event ids unique (`runtime.messaging.unindex_event_ids`), on PostgreSQL
and on SQLite (where the constraint had no name), keeping the rows waiting to be sent; the step back restores it."""
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from runtime.db import make_engine
from runtime.migrate import alembic_config, upgrade
from runtime.service import SERVICES

ROW = ("INSERT INTO outbox (event_id, topic, key, type, payload, created_at) "
       "VALUES (:id, 't', 'k', 't', '{}', CURRENT_TIMESTAMP)")


def _unique_columns(engine) -> list[list[str]]:
    return [c["column_names"] for c in inspect(engine).get_unique_constraints("outbox")]


def _before_unindexing(config) -> str:
    """The revision before the one that stopped keeping the outbox's event ids unique (later revisions may follow
    it: the step back goes to this one, through them)."""
    scripts = [s for s in ScriptDirectory.from_config(config).walk_revisions()
               if "unindex_event_ids" in Path(s.path).read_text()]
    assert len(scripts) == 1, scripts
    return scripts[0].down_revision


@pytest.fixture(params=["postgresql", "sqlite"])
def database(request, tmp_path):
    if request.param == "sqlite":
        return lambda service: f"sqlite:///{tmp_path / f'{service}.db'}"
    return request.getfixturevalue("new_database")


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_the_outbox_keeps_its_waiting_rows_and_no_longer_refuses_a_repeated_event_id(database, service):
    url = database(service)
    upgrade(service, url, "head")  # from the first revision, whose constraint SQLite knows by no name
    engine = make_engine(url)
    try:
        assert _unique_columns(engine) == []
        config = alembic_config(service, url)
        before = _before_unindexing(config)
        command.downgrade(config, before)  # event ids unique
        engine.dispose()
        assert _unique_columns(engine) == [["event_id"]]
        with engine.begin() as conn:
            conn.execute(text(ROW), {"id": "waiting"})
        command.upgrade(config, "head")
        engine.dispose()
        assert _unique_columns(engine) == []
        with engine.begin() as conn:
            conn.execute(text(ROW), {"id": "waiting"})  # a repeated id is the consumers' inbox's to skip
            assert conn.execute(text("SELECT count(*) FROM outbox WHERE event_id = 'waiting'")).scalar() == 2
            conn.execute(text("DELETE FROM outbox WHERE id = (SELECT max(id) FROM outbox)"))
        command.downgrade(config, before)
        engine.dispose()
        assert _unique_columns(engine) == [["event_id"]]
        with engine.connect() as conn:
            assert conn.execute(text("SELECT event_id FROM outbox")).scalars().all() == ["waiting"]
    finally:
        engine.dispose()
