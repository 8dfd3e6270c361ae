"""Issue 9, item 8: the OpenAPI document tells the truth. Schemathesis generates requests from it
against the real service; any 5xx, undocumented status or body that does not match fails.

Bounded for CI: FUZZ_EXAMPLES generated requests per operation besides the explicit and coverage cases,
about a minute in all.
"""
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                 status_code_conformance)

from test_service_ingestion import SPEC, post, task

FUZZ_EXAMPLES = 20
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def api_schema(shared_dfa_service):
    """The live service's OpenAPI document, with a dataflow, a run and a model to find."""
    service = shared_dfa_service
    post(service, "/pde/dataflow/json", SPEC)
    post(service, "/pde/task/json", task("1", "TrainingModel", "FINISHED", [("oTrainingModel", [[1, 0.5, 0.9]])]))
    requests.post(service.url + "/api/v1/models", data=b"model", timeout=30,
                  headers={"Content-Type": "application/octet-stream"},
                  params={"dataflow": "mnist", "exec": "run-1", "task": "1", "file_name": "m.keras", "format": "keras"})
    return schemathesis.openapi.from_url(service.url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_the_service_answers_as_its_openapi_document_says(case):
    case.call_and_validate(checks=CHECKS, timeout=60)
