"""Each service's OpenAPI document is valid OAS 3.1 and says what the routes do: bodies by media type, query
parameters from the schemas the routes load, the real success codes, problem+json errors, who must sign in."""
import importlib

import pytest
from openapi_spec_validator import validate

from runtime.service import SERVICES
from tests.conftest import make_settings
from tests.tokens import bearer_token

PROBLEM = {"$ref": "#/components/schemas/Problem"}


def _app(name, tmp_path):
    settings = make_settings(name, f"sqlite:///{tmp_path / name}.db", data_dir=str(tmp_path / name))
    return importlib.import_module(f"{name}.app").create_app(settings)


@pytest.fixture
def specs(tmp_path):
    return {name: _app(name, tmp_path).test_client().get("/openapi.json").json for name in SERVICES}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_documents_a_valid_openapi_3_1(name, tmp_path):
    spec = _app(name, tmp_path).test_client().get("/openapi.json").json
    validate(spec)  # raises on any departure from the OAS 3.1 schema
    assert spec["openapi"] == "3.1.0" and spec["paths"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert operation["responses"]["default"]["content"]["application/problem+json"]["schema"] == PROBLEM, (
                path, method)


def test_roster_import_documents_its_csv_and_multipart_bodies(specs):
    operation = specs["directory"]["paths"]["/roster/imports"]["post"]
    content = operation["requestBody"]["content"]
    assert set(content) == {"text/csv", "multipart/form-data"} and operation["requestBody"]["required"]
    assert content["multipart/form-data"]["schema"]["required"] == ["file"]
    assert operation["security"] == [{"bearer": []}] and "admin" in operation["description"]
    assert {"200", "400", "401", "403"} <= set(operation["responses"])
    assert operation["responses"]["400"]["content"]["application/problem+json"]["schema"] == PROBLEM


def test_submitting_an_entry_answers_201_or_a_422_problem_naming_fields(specs):
    spec = specs["activities"]
    operation = spec["paths"]["/entries"]["post"]
    assert "201" in operation["responses"] and "200" not in operation["responses"]
    assert operation["responses"]["422"]["content"] == {"application/problem+json": {"schema": PROBLEM}}
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    schema = spec["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    assert {"start_at", "end_at"} <= set(schema["required"])
    problem = spec["components"]["schemas"]["Problem"]
    assert problem["properties"]["errors"]["items"]["properties"]["field"]


def test_query_parameters_come_from_the_routes_schemas(specs):
    flags = {p["name"]: p for p in specs["scoring"]["paths"]["/flags"]["get"]["parameters"]}
    assert {"employee_id", "from", "to", "state", "limit"} <= set(flags)
    assert flags["from"]["schema"]["format"] == "date" and flags["limit"]["schema"]["type"] == "integer"
    assert set(flags["state"]["schema"]["enum"]) >= {"open"}
    public = specs["scoring"]["paths"]["/public/units"]["get"]
    assert "security" not in public and {p["name"] for p in public["parameters"] if p["required"]} == {"year", "month"}
    days = {p["name"] for p in specs["attendance"]["paths"]["/days"]["get"]["parameters"]}
    assert days == {"employee_id", "from", "to"}


def test_success_codes_and_media_types_are_the_real_ones(specs):
    payroll = specs["payroll"]["paths"]
    assert list(payroll["/runs"]["post"]["responses"])[0] == "201" and "409" in payroll["/runs"]["post"]["responses"]
    assert "content" not in payroll["/sanctions/{employee_id}"]["delete"]["responses"]["204"]
    assert "text/csv" in payroll["/runs/{run_id}/bank.csv"]["get"]["responses"]["200"]["content"]
    assert "text/html" in payroll["/runs/{run_id}/payslips/{employee_id}.html"]["get"]["responses"]["200"]["content"]
    approve = payroll["/runs/{run_id}/approve"]["post"]["requestBody"]
    assert approve["required"] is False  # the reviewed content hash is optional
    evidence = specs["activities"]["paths"]["/evidence"]["post"]
    assert "multipart/form-data" in evidence["requestBody"]["content"] and "201" in evidence["responses"]


def test_device_protocol_answers_plain_text_not_problems(specs):
    upload = specs["attendance"]["paths"]["/iclock/cdata"]["post"]
    assert set(upload["requestBody"]["content"]) == {"text/plain"}
    assert {p["name"] for p in upload["parameters"] if p["required"]} == {"SN"}
    assert "security" not in upload
    assert upload["responses"]["400"]["content"] == {"text/plain": {"schema": {"type": "string"}}}
    assert "422" not in upload["responses"]


def test_a_405_names_the_allowed_methods(tmp_path):
    client = _app("directory", tmp_path).test_client()
    token = bearer_token("198001012005011004", ("admin",))
    response = client.delete("/roster/imports", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 405 and response.mimetype == "application/problem+json"
    assert set(response.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}
    assert "Allow" not in client.get("/nope").headers
