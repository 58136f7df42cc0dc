"""Schemathesis against every service's live OpenAPI schema: requests generated from the schema
(valid ones, and invalid ones), sent as an operator and as a delegator, must never get a 5xx,
and every answer must match the schema. Bounded: EXAMPLES per operation, per caller and mode,
no shrinking; the failing request is reported as a curl command.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.system.actors import Operator, Round, create_operator, open_round
from tests.system.convergence import Voter, new_delegator
from tests.system.harness import Platform

EXAMPLES = 12
CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture(scope="module")
def callers(platform: Platform) -> dict[str, Any]:
    operator = create_operator(platform)
    round_ = open_round(platform, operator)
    delegator = new_delegator(platform)
    return {"operator": operator, "delegator": delegator, "round": round_}


def run_operation(operation: Any, base_url: str, token: str, mode: GenerationMode,
                  path_parameters: dict[str, str] | None) -> str | None:
    """Generate and send; the first failure's report, or None."""
    known = {k: v for k, v in (path_parameters or {}).items()
             if k in {p.name for p in operation.path_parameters}}

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=known or None))
    def check(case: Any) -> None:
        case.call_and_validate(base_url=base_url, checks=CHECKS,
                               headers={"Authorization": f"Bearer {token}"}, timeout=15)

    try:
        check()
    except Exception as exc:  # FailureGroup (a check failed) or a transport error
        return f"{operation.label} ({mode.value}, with {'known' if known else 'random'} " \
               f"ids): {type(exc).__name__}: {str(exc)[:3000]}"
    return None


@pytest.mark.parametrize("service", ["accounts", "polls", "voting"])
def test_generated_requests_get_no_5xx_and_answers_match_the_schema(
        platform: Platform, callers: dict[str, Any], service: str, capsys):
    operator: Operator = callers["operator"]
    delegator: Voter = callers["delegator"]
    round_: Round = callers["round"]
    schema = schemathesis.openapi.from_url(platform.url(service, "api/schema/?format=json"))
    base_url = platform.url(service, "").split(f"/{service}/")[0]
    known_ids = {"poll_id": round_.poll_id, "cause_id": round_.causes[0],
                 "account_id": delegator.id}
    failures = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for who, token in (("operator", operator.token), ("delegator", delegator.token)):
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                for ids in (None, known_ids):
                    failure = run_operation(operation, base_url, token, mode, ids)
                    if failure:
                        failures.append(f"as {who}: {failure}")
    with capsys.disabled():
        print(f"\n[schemathesis] {service}: {operations} operations, up to {EXAMPLES} "
              f"requests each per caller, mode and id source; {len(failures)} failures")
    assert operations and not failures, "\n\n".join(failures)


def test_the_generator_reaches_the_services(platform: Platform):
    """A guard against a vacuous pass: a hand-made case through the same machinery."""
    schema = schemathesis.openapi.from_url(platform.url("polls", "api/schema/?format=json"))
    operation = schema["/polls/api/causes/"]["GET"]
    case = operation.Case()
    base_url = platform.url("polls", "").split("/polls/")[0]
    response = case.call(base_url=base_url)
    assert response.status_code == 401  # no token: the request did reach polls
    unknown = str(uuid.uuid4())
    assert unknown not in response.text
