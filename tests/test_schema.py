"""The OpenAPI schema, fuzzed in-process by schemathesis with valid and invalid requests: no 5xx,
every response as documented, invalid input refused."""

from __future__ import annotations

import itertools
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

EXAMPLES = 100


def test_every_operation_matches_its_schema(client: TestClient) -> None:
    # The session client has run the app's start-up, so the service and stores are loaded.
    # Invalid input may be refused for its size too (413), before it is even parsed.
    refusals = {"expected-statuses": [400, 404, 413, 422]}
    config = schemathesis.Config.from_dict({"checks": {"negative_data_rejection": refusals}})
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app, config=config)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 10

    for operation, mode in itertools.product(operations, GenerationMode):
        takes_input = any(operation.iter_parameters()) or bool(
            operation.get_request_payload_content_types()
        )
        if mode is GenerationMode.NEGATIVE and not takes_input:
            continue  # no input, so no invalid input to send

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def conforms(case: schemathesis.Case[Any]) -> None:
            # Every check but one: a conversation's total length (MAX_HISTORY_CHARS) is a bound
            # JSON Schema cannot state, so a schema-valid request may rightly get a 422.
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        try:
            conforms()
        except Exception as exc:
            exc.add_note(f"operation: {operation.label}, {mode.value} examples")
            raise
