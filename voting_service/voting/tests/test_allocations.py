"""The one check of a ballot's allocations, as any caller of `services.ballot_cast` meets it
(the API's answers, nested per allocation, are in apis/test_ballots.py)."""

import uuid

import pytest
from django.core.exceptions import ValidationError

from voting.allocations import MAX_ALLOCATIONS, AllocationsInvalid, allocations_validate

CAUSE = uuid.UUID("2f1c5d3e-8a4b-4c6d-9e0f-1a2b3c4d5e6f")
OTHER = uuid.UUID("00000000-0000-0000-0000-0000000000c2")


def refusal(given) -> AllocationsInvalid:
    with pytest.raises(AllocationsInvalid) as caught:
        allocations_validate(given)
    return caught.value


def test_causes_come_back_as_uuids_in_the_order_given():
    given = ({"cause": str(OTHER), "points": 0}, {"cause": CAUSE, "points": 7})
    assert allocations_validate(given) == [
        {"cause": OTHER, "points": 0},
        {"cause": CAUSE, "points": 7},
    ]
    assert allocations_validate([{"cause": CAUSE.hex.upper(), "points": 1}]) == [
        {"cause": CAUSE, "points": 1}
    ]


def test_a_refusal_is_a_django_validation_error_on_allocations_with_flat_messages():
    error = refusal(
        [
            {"cause": "nope", "points": -1},
            {"cause": str(CAUSE), "points": 1},
            {"points": True, "weight": 2},
            {"cause": str(OTHER)},
        ]
    )
    assert isinstance(error, ValidationError)
    assert error.message_dict == {
        "allocations": [
            "allocation 0: cause: Must be a cause id (a UUID).",
            "allocation 0: points: Points cannot be negative.",
            "allocation 2: weight: Unknown field.",
            "allocation 3: points: This field is required.",
        ]
    }
    # The API answers with the same messages nested, as DRF nests a list's.
    assert error.detail == {
        0: {"cause": ["Must be a cause id (a UUID)."], "points": ["Points cannot be negative."]},
        2: {"weight": ["Unknown field."]},
        3: {"points": ["This field is required."]},
    }


@pytest.mark.parametrize(
    "given, message",
    [
        ([], "Give at least one allocation."),
        (None, "This field may not be null."),
        ("all", 'Expected a list of items but got type "str".'),
        (
            [{"cause": CAUSE, "points": 1}] * (MAX_ALLOCATIONS + 1),
            f"Ensure this field has no more than {MAX_ALLOCATIONS} elements.",
        ),
        (
            [{"cause": CAUSE, "points": 0}, {"cause": OTHER, "points": 0}],
            "Give at least one cause more than zero points.",
        ),
        (
            [{"cause": CAUSE, "points": 1}, {"cause": str(CAUSE).upper(), "points": 2}],
            f"Each cause may appear only once; repeated: {CAUSE}.",
        ),
        ([{"cause": CAUSE, "points": 2**63}], "allocation 0: points: Too many points."),
        (
            [{"cause": CAUSE, "points": 1.0}],
            "allocation 0: points: Points must be a whole number "
            "(not text, a decimal or true/false).",
        ),
        ([(str(CAUSE), 1)], "allocation 0: Invalid data. Expected a dictionary, but got tuple."),
    ],
)
def test_every_rule_of_the_list_has_its_message(given, message):
    assert refusal(given).message_dict == {"allocations": [message]}
