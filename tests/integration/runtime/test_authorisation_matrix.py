"""The authorisation matrix (issue 14): every operation of every service's OpenAPI, called with no token, an
expired one, one of a foreign issuer, one signed with a foreign key, one with `alg=none`, and then as each
role on the caller's own record and on someone else's, checked against the outcomes written once in
`tests/authz_matrix.py`. An operation missing from that table fails the test until its rule is written."""
import base64
import json
import re
import tempfile
from datetime import timedelta

import pytest

from runtime.auth import ROLES, mint_token
from tests.authz_matrix import MATRIX, PERSON_PARAMS, expected
from tests.conftest import service_clients
from tests.tokens import LocalIssuer

pytestmark = pytest.mark.postgres

SERVICES = ("attendance", "activities", "approvals", "scoring", "payroll", "directory", "identity")
CALLER = "198503122010011002"
STRANGER = "199002022015032003"
VALUES = {"day": "2025-03-03", "period": "2025-03", "month": "2025-03", "from": "2025-03-01", "to": "2025-03-31",
          "year": "2025", "serial": "CQUJ1", "device_serial": "CQUJ1", "pin": "1", "punch_id": "1",
          "unit_id": "UNIT1", "position_id": "POS1", "schedule_id": "SCH1", "fence_id": "FENCE1", "flag_key": "late:1",
          "entry_id": "00000000-0000-4000-8000-000000000001", "evidence_id": "00000000-0000-4000-8000-000000000002",
          "run_id": "00000000-0000-4000-8000-000000000003", "decision_id": "00000000-0000-4000-8000-000000000004"}


@pytest.fixture(scope="module")
def clients(pg_server_url):
    keys = {"identity": {"signing_keys_dir": tempfile.mkdtemp(prefix="kinerja-matrix-")}}  # key rotation stays here
    with service_clients(pg_server_url, SERVICES, **keys) as clients:
        yield clients


@pytest.fixture(scope="module")
def operations(clients):
    """(service, METHOD, path template, parameters, secured) of every documented operation."""
    found = []
    for service, client in clients.items():
        for path, item in client.get("/openapi.json").json["paths"].items():
            for method, op in item.items():
                if method in ("get", "post", "put", "delete", "patch"):
                    found.append((service, method.upper(), path, op.get("parameters", []), bool(op.get("security"))))
    return found


def _url(path: str, parameters: list, person: str) -> str:
    filled = re.sub(r"\{(\w+)\}", lambda m: person if m.group(1) in PERSON_PARAMS else VALUES[m.group(1)], path)
    query = [f"{p['name']}={person if p['name'] in PERSON_PARAMS else VALUES[p['name']]}"
             for p in parameters if p["in"] == "query" and (p["name"] in PERSON_PARAMS or p.get("required"))]
    return filled + ("?" + "&".join(query) if query else "")


def _call(client, method: str, url: str, headers: dict):
    return client.open(url, method=method, headers=headers, json={} if method in ("POST", "PUT", "PATCH") else None)


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _unsigned(subject: str) -> str:
    def part(doc):
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()
    claims = {"iss": LocalIssuer.issuer, "aud": "kinerja", "sub": subject, "roles": sorted(ROLES),
              "exp": 4102444800, "iat": 1700000000}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _bad_credentials() -> dict[str, dict]:
    home, foreign = LocalIssuer.default(), LocalIssuer()
    every = sorted(ROLES)
    return {
        "no token": {},
        "not a JWT": _bearer("not-a-token"),
        "expired": _bearer(mint_token(home.keys.signing_key(), home.issuer, CALLER, every, ttl=timedelta(minutes=-5))),
        "foreign issuer": _bearer(mint_token(foreign.keys.signing_key(), "https://sso.example.org", CALLER, every)),
        "foreign key": _bearer(mint_token(foreign.keys.signing_key(), home.issuer, CALLER, every)),
        "alg=none": _bearer(_unsigned(CALLER)),
        "other audience": _bearer(mint_token(home.keys.signing_key(), home.issuer, CALLER, every, audience="x")),
    }


def test_every_documented_operation_has_its_rule_written_down(operations):
    documented = {f"{service} {method} {path}" for service, method, path, _, _ in operations}
    assert sorted(documented - set(MATRIX)) == [], "write the rule of each new operation in tests/authz_matrix.py"
    assert sorted(set(MATRIX) - documented) == [], "operations in the table that no service documents"
    for service, method, path, _, secured in operations:
        assert secured == (MATRIX[f"{service} {method} {path}"] != "public"), f"{service} {method} {path}"


def test_no_credential_but_a_valid_one_reaches_a_secured_operation(clients, operations):
    wrong = []
    for name, headers in _bad_credentials().items():
        for service, method, path, parameters, secured in operations:
            if not secured:
                continue
            response = _call(clients[service], method, _url(path, parameters, CALLER), headers)
            if response.status_code != 401 or response.mimetype != "application/problem+json":
                wrong.append((name, service, method, path, response.status_code))
    assert wrong == []


def test_each_role_on_its_own_and_on_someone_elses_record_meets_the_written_outcome(clients, operations, token):
    wrong = []
    for service, method, path, parameters, secured in operations:
        if not secured:
            continue
        rule = MATRIX[f"{service} {method} {path}"]
        for role in sorted(ROLES):
            headers = token(CALLER, role)
            for whose, person in (("own", CALLER), ("other", STRANGER)):
                status = _call(clients[service], method, _url(path, parameters, person), headers).status_code
                if not _consistent(status, expected(rule, role, whose)):
                    wrong.append((service, method, path, role, whose, status))
    assert wrong == []


def _consistent(status: int, allowed: bool) -> bool:
    """Whether the answer agrees with the rule: never a 401 or a 5xx with a valid token; an allowed call is
    not refused (it may find nothing, 404, or refuse the empty body, 422); a refused one is 403 or 404."""
    if status == 401 or status >= 500:
        return False
    return status != 403 if allowed else status in (403, 404)
