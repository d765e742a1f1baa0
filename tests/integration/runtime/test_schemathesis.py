"""Schemathesis against every service's OpenAPI (issue 14): generated requests for every operation, as an
admin (with every role, so no operation is closed to it), checked by every schemathesis check but one:
no 5xx, statuses, media types and bodies as documented, schema-invalid input refused, auth not ignored.

Left out: `positive_data_acceptance`. The documents give types, not every domain rule (a NIP's checksum,
a body that must agree with its path, a unit that must exist), so schema-valid input is rightly refused
with a 422 naming the field. The run is bounded: a few examples per operation, no shrinking database.
The operational endpoints (`/healthz`, `/readyz`, `/metrics`) are left to their own tests (without a
broker `/readyz` answers 503 by design)."""
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from runtime.auth import ROLES
from tests.conftest import service_clients
from tests.tokens import bearer_token

pytestmark = pytest.mark.postgres

SERVICES = ("attendance", "activities", "approvals", "scoring", "payroll", "directory", "identity")
EXAMPLES_PER_OPERATION = 3
OPERATIONAL = ("/healthz", "/readyz", "/metrics")


@pytest.fixture(scope="module")
def apps(pg_server_url, tmp_path_factory):
    keys = {"identity": {"signing_keys_dir": str(tmp_path_factory.mktemp("keys"))}}  # key rotation stays here
    with service_clients(pg_server_url, SERVICES, **keys) as clients:
        yield {service: client.application for service, client in clients.items()}


@pytest.mark.parametrize("service", SERVICES)
def test_generated_requests_meet_the_documents(apps, service):
    schema = schemathesis.openapi.from_wsgi("/openapi.json", apps[service])
    admin = {"Authorization": "Bearer " + bearer_token("198001012005011004", sorted(ROLES))}
    failures = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in OPERATIONAL:
            continue

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        def check(case):
            try:
                case.call_and_validate(headers=admin, excluded_checks=[positive_data_acceptance])
            except BaseException as failure:  # noqa: BLE001 - schemathesis raises a FailureGroup
                failures.setdefault(operation.label, str(failure)[:2000])

        check()
    assert failures == {}, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
