"""Schemathesis against every service's live OpenAPI schema, sent as an operator and as a
delegator: its coverage phase (the schema's boundary values and deliberately wrong ones: a page
size past its maximum, zero, text where a number goes, a missing or extra field) and its
fuzzing phase (valid and invalid requests). No answer may be a 5xx, every answer must be one
the schema documents with the documented shape, content type and headers, and a page size or
offset outside the schema's bounds is never served. Bounded: the coverage phase is a fixed
list per operation, the fuzzing phase EXAMPLES per operation and caller, no shrinking; the
failing request is reported as a curl command.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.hypothesis.builder import (
    HypothesisTestConfig,
    HypothesisTestMode,
    create_test,
)
from schemathesis.generation.overrides import Override
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.system.actors import Operator, Round, create_operator, open_round
from tests.system.convergence import Voter, new_delegator
from tests.system.harness import Platform

EXAMPLES = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def callers(platform: Platform) -> dict[str, Any]:
    operator = create_operator(platform)
    round_ = open_round(platform, operator)
    delegator = new_delegator(platform)
    return {"operator": operator, "delegator": delegator, "round": round_}


def run_operation(
    operation: Any,
    base_url: str,
    token: str,
    modes: list[HypothesisTestMode],
    path_parameters: dict[str, str] | None,
    sent: list[dict[str, Any]],
) -> str | None:
    """Generate and send in the given phases; the first failure's report, or None."""
    known = {
        k: v
        for k, v in (path_parameters or {}).items()
        if k in {p.name for p in operation.path_parameters}
    }
    session = requests.Session()

    bounds = page_bounds(operation)

    def check(case: Any) -> None:
        query = dict(case.query or {})
        sent.append(query)
        response = case.call_and_validate(
            base_url=base_url,
            session=session,
            checks=CHECKS,
            headers={"Authorization": f"Bearer {token}"},
            timeout=15,
        )
        outside = {
            name: query[name]
            for name in bounds
            if name in query and not within(query[name], *bounds[name])
        }
        # Schemathesis's negative_data_rejection would say the same, but also fails on DRF's
        # lenient fields (0 for false, "5" for 5), which are not this test's concern.
        assert not outside or response.status_code >= 400, (
            f"{operation.label} served {outside} with {response.status_code}"
        )

    # Schemathesis's own test builder (what its pytest plugin uses): the coverage phase's cases
    # become explicit examples, the fuzzing phase draws positive and negative cases.
    test = create_test(
        operation=operation,
        test_func=check,
        config=HypothesisTestConfig(
            project=operation.schema.config,
            modes=modes,
            settings=SETTINGS,
            override=Override(path_parameters=known),
        ),
    )
    try:
        test()
    except (Exception, BaseExceptionGroup) as exc:  # a check failed, or a transport error
        phases = "+".join(mode.value for mode in modes)
        ids = "known ids" if known else "random ids" if operation.path_parameters else "no ids"
        return f"{operation.label} ({phases}, {ids}): {describe(exc)}"
    finally:
        session.close()
    return None


def describe(exc: BaseException) -> str:
    # Hypothesis groups the failures of several explicit examples; each says what failed.
    if type(exc) in (BaseExceptionGroup, ExceptionGroup):
        return "\n".join(describe(inner) for inner in exc.exceptions)
    return f"{type(exc).__name__}: {str(exc)[:3000]}"


def page_bounds(operation: Any) -> dict[str, tuple[int, int]]:
    """The page parameters' bounds as the schema states them; a database integer at most."""
    return {
        p.name: (
            p.definition["schema"].get("minimum", 1 if p.name == "limit" else 0),
            p.definition["schema"].get("maximum", 2**63 - 1),
        )
        for p in operation.query
        if p.name in ("limit", "offset")
    }


def within(value: Any, minimum: int, maximum: int) -> bool:
    """Whether a query value, as generated (an int, or text), is a whole number in bounds."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return type(value) is int and minimum <= value <= maximum


@pytest.mark.parametrize("service", ["accounts", "polls", "voting"])
def test_generated_requests_get_no_5xx_and_answers_match_the_schema(
    platform: Platform, callers: dict[str, Any], service: str, capsys
):
    operator: Operator = callers["operator"]
    delegator: Voter = callers["delegator"]
    round_: Round = callers["round"]
    schema = schemathesis.openapi.from_url(platform.url(service, "api/schema/?format=json"))
    base_url = platform.url(service, "").split(f"/{service}/")[0]
    known_ids = {
        "poll_id": round_.poll_id,
        "cause_id": round_.causes[0],
        "account_id": delegator.id,
    }
    both = [HypothesisTestMode.COVERAGE, HypothesisTestMode.FUZZING]
    failures, unbounded = [], []
    operations = requests_sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        sent: list[dict[str, Any]] = []
        for who, token in (("operator", operator.token), ("delegator", delegator.token)):
            runs = [(both, known_ids)]
            if operation.path_parameters:
                runs.append(([HypothesisTestMode.FUZZING], None))  # ids nobody has
            for modes, ids in runs:
                failure = run_operation(operation, base_url, token, modes, ids, sent)
                if failure:
                    failures.append(f"as {who}: {failure}")
        requests_sent += len(sent)
        bounds = page_bounds(operation)
        if "limit" in bounds and all(
            within(q["limit"], *bounds["limit"]) for q in sent if "limit" in q
        ):
            unbounded.append(operation.label)
    with capsys.disabled():
        print(
            f"\n[schemathesis] {service}: {operations} operations, {requests_sent} requests "
            f"(coverage phase, and up to {EXAMPLES} fuzzed per caller and id source); "
            f"{len(failures)} failures"
        )
    assert operations and not failures, "\n\n".join(failures)
    # A guard against a vacuous pass: the page parameters were tried out of their range.
    assert not unbounded, f"no out-of-range limit was sent to {unbounded}"


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
    case.validate_response(response, checks=CHECKS)  # the 401 is documented, with its shape
