"""The OpenAPI document checked against the running app by schemathesis: for every
operation, generated valid and invalid inputs; no answer is a 5xx, and every answer
matches what the document says of it. (A value the schema allows may still be refused
with 422, an IBAN whose check digits do not match say: the field catalogue knows more
than a JSON schema says, so schemathesis's positive-data check is left out.)"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from data.customers import save_customer
from data.db import Database
from data.requests import submit
from tests.api.conftest import build_api


@pytest.fixture
def conformance(tmp_path, sqlite_template):
    import shutil

    path = tmp_path / "api.db"
    shutil.copy(sqlite_template, path)
    api = build_api(Database(f"sqlite:///{path}"))
    world = api.world
    request_id = world.act("clerk", save_customer, "C001", {"credit_limit": "20000"},
                           expected_version=world.version_of("C001")).request.id  # fmt: skip
    world.act("clerk", submit, request_id)
    return api, api.token("clerk")


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_as_documented(conformance, mode):
    api, token = conformance
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api.app.server)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 21
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        # the same examples every run (derandomize): a suite that passes stays passing.
        # (Random runs now and then report "query violates additionalProperties" for a
        # request that, as sent, has no extra parameter: the shrinker dropped the unknown
        # one, whose value was an empty list, and the check still counts the case as
        # negative. The API answers an unknown query parameter 422,
        # test_customers_api.py::test_unknown_or_nameless_query_parameters_are_refused.)
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None, derandomize=True)
        def answers_as_documented(case):
            # (the WSGI client does not decompress: ask for the body as it is)
            case.call_and_validate(headers={"Authorization": f"Bearer {token}",
                                            "Accept-Encoding": "identity"},
                                   excluded_checks=[positive_data_acceptance])

        answers_as_documented()
