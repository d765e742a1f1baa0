"""The shared seams on a real (SQLite) database: who may read whose records, domain errors answered as problem+json,
and a view's unit of work (committed when it returns, nothing kept when it raises)."""
import pytest
from flask import Blueprint
from sqlalchemy import Boolean, Column, MetaData, String, Table, select

from runtime.access import (add_verifier_units_table, apply_verifier_assignment, may_read, may_read_unit,
                            readable_employees, readable_units)
from runtime.auth import Principal
from runtime.db import make_engine, make_session_factory
from runtime.errors import Conflict, Invalid, NotFound
from runtime.uow import transactional, unit_of_work
from runtime.web import create_service_app, db
from tests.conftest import make_settings

METADATA = MetaData()
EMPLOYEES = Table("employees", METADATA, Column("employee_id", String(18), primary_key=True),
                  Column("unit_id", String(64)), Column("supervisor_id", String(18)),
                  Column("acting_supervisor_id", String(18)), Column("active", Boolean, default=True))
add_verifier_units_table(METADATA)
NOTES = Table("notes", METADATA, Column("name", String(20), primary_key=True))
BOSS, PLT, STAFF, OTHER, VERIFIER = (f"1990010120150310{n:02d}" for n in range(1, 6))


def who(subject, *roles):
    return Principal(subject, frozenset(roles))


@pytest.fixture
def sessions(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'seams.db'}")
    METADATA.create_all(engine)
    sessions = make_session_factory(engine, METADATA)
    with unit_of_work(sessions) as session:
        session.execute(EMPLOYEES.insert(), [
            {"employee_id": STAFF, "unit_id": "DINKES", "supervisor_id": BOSS, "acting_supervisor_id": PLT},
            {"employee_id": OTHER, "unit_id": "DISHUB", "supervisor_id": BOSS, "acting_supervisor_id": None},
            {"employee_id": BOSS, "unit_id": "DINKES", "supervisor_id": None, "acting_supervisor_id": None}])
    yield sessions
    engine.dispose()


def test_staff_supervisors_verifiers_and_readers_of_all(sessions):
    with unit_of_work(sessions) as session:
        assert may_read(session, who(STAFF, "staff"), STAFF)
        assert not may_read(session, who(STAFF, "staff"), OTHER)
        assert may_read(session, who(PLT, "supervisor"), STAFF)  # the acting supervisor approves while set
        assert not may_read(session, who(BOSS, "supervisor"), STAFF)
        assert may_read(session, who(BOSS, "supervisor"), OTHER)
        assert not may_read(session, who(BOSS, "supervisor"), OTHER, supervisors=False)
        assert may_read(session, who(VERIFIER, "ops"), OTHER)
        assert not may_read(session, who(VERIFIER, "ops"), OTHER, read_all=("finance",))
        assert not may_read(session, who(VERIFIER, "verifier"), STAFF)  # assigned to no unit: nobody
        assert readable_units(session, who(VERIFIER, "verifier")) == set()
        apply_verifier_assignment(session, {"verifier_id": VERIFIER, "unit_id": "DINKES", "active": True})
        assert may_read(session, who(VERIFIER, "verifier"), STAFF)
        assert not may_read(session, who(VERIFIER, "verifier"), OTHER)
        assert not may_read(session, who(VERIFIER, "verifier"), STAFF, verifiers=False)
        assert may_read_unit(session, who(VERIFIER, "verifier"), "DINKES")
        assert not may_read_unit(session, who(VERIFIER, "verifier"), "DISHUB")
        assert may_read_unit(session, who(BOSS, "supervisor"), "DINKES")  # their own unit
        assert readable_units(session, who(VERIFIER, "admin")) is None
        visible = readable_employees(session, who(VERIFIER, "verifier"), EMPLOYEES.c.employee_id)
        assert sorted(session.scalars(select(EMPLOYEES.c.employee_id).where(visible))) == sorted([STAFF, BOSS])
        apply_verifier_assignment(session, {"verifier_id": VERIFIER, "unit_id": "DINKES", "active": False})
        assert not may_read(session, who(VERIFIER, "verifier"), STAFF)


@pytest.fixture
def client(sessions):
    bp = Blueprint("seams", __name__)

    @bp.post("/notes/<name>")
    @transactional
    def add(name):
        db().execute(NOTES.insert().values(name=name))
        if name == "taken":
            raise Conflict("taken is taken", title="Already there", note=name)
        if name == "bad":
            raise Invalid("bad name", field="name", message="not that one")
        return {"name": name}, 201

    @bp.get("/notes/<name>")
    def read(name):
        raise NotFound(f"no note {name}")

    url = sessions.kw["bind"].url.render_as_string(hide_password=False)
    app = create_service_app(make_settings("directory", url), METADATA, [bp], "seams",
                             engine=sessions.kw["bind"])
    return app.test_client()


def _names(sessions):
    with sessions() as session:
        return set(session.scalars(select(NOTES.c.name)))


def test_domain_errors_are_problems_and_a_refused_view_keeps_nothing(client, sessions):
    assert client.post("/notes/kept").status_code == 201
    conflict = client.post("/notes/taken")
    assert conflict.status_code == 409 and conflict.mimetype == "application/problem+json"
    assert conflict.json == {"type": "about:blank", "title": "Already there", "status": 409,
                             "detail": "taken is taken", "instance": "/notes/taken", "note": "taken"}
    invalid = client.post("/notes/bad")
    assert invalid.status_code == 422 and invalid.json["errors"] == [{"field": "name", "message": "not that one"}]
    missing = client.get("/notes/nothing")
    assert missing.status_code == 404 and missing.json["title"] == "Not found"
    assert _names(sessions) == {"kept"}
