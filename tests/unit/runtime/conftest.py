"""Fixtures of the runtime's unit tests."""
import pytest
from sqlalchemy import Column, MetaData, String, Table, create_engine

from runtime.db import make_session_factory
from runtime.messaging import add_messaging_tables


@pytest.fixture
def sessions(tmp_path):
    """An SQLite database with an `applied` table (event id, name) and the outbox and inbox."""
    metadata = MetaData()
    Table("applied", metadata, Column("event_id", String(36), primary_key=True), Column("name", String(100)))
    add_messaging_tables(metadata)
    engine = create_engine(f"sqlite:///{tmp_path / 'consumer.db'}")
    metadata.create_all(engine)
    yield make_session_factory(engine, metadata)
    engine.dispose()
