"""schemathesis against the running service's OpenAPI document: every operation, generated
requests (valid and invalid), no server error and no reply outside the document."""

from __future__ import annotations

import os
import signal

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.serving.conftest import TOKEN, Server

pytestmark = pytest.mark.slow
EXAMPLES = int(os.environ.get("PERSONA_RISK_API_FUZZ_EXAMPLES", "200"))  # per operation


@pytest.fixture()
def served(registry, tmp_path):
    server = Server(registry, tmp_path / "state.sqlite").wait_ready()
    yield server
    server.stop(signal.SIGKILL)


# Found by this test once: an account whose `created_at` is after its only stored event made the
# pipeline raise (now the point-in-time rule of features/point_in_time.py, used by every engine).
def test_no_generated_request_gets_a_server_error(served):
    schema = schemathesis.openapi.from_url(f"{served.url}/openapi.json")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    cases: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        @given(case=operation.as_strategy() | operation.as_strategy(GenerationMode.NEGATIVE))
        @settings(max_examples=EXAMPLES, derandomize=True, deadline=None,
                  suppress_health_check=list(HealthCheck))
        def call(case):
            cases.append(case.operation.label)
            case.call_and_validate(base_url=served.url, headers=auth,
                                   checks=[not_a_server_error, response_schema_conformance])

        call()
    assert {op.label for op in operations} == set(cases) and len(operations) == 8
    assert len(cases) >= 500
