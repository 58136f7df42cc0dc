"""The API's input limits on their own: how deep and how large JSON may be, what a page
parameter is, what an integer field takes."""

import io

import pytest
from rest_framework.exceptions import ParseError, ValidationError

from shared_events.kit.api import StrictIntegerField
from shared_events.kit.pagination import whole_number
from shared_events.kit.parsers import (
    MAX_JSON_BYTES,
    BoundedJSONParser,
    PayloadTooLarge,
    nests_deeper_than,
)


def parse(text: str):
    return BoundedJSONParser().parse(io.BytesIO(text.encode()))


def test_nesting_is_counted_in_lists_and_objects_alike():
    assert not nests_deeper_than({"a": [{"b": 1}]}, 3)
    assert nests_deeper_than({"a": [{"b": []}]}, 3)
    assert not nests_deeper_than("text", 0)
    assert nests_deeper_than([[]] * 3 + [[[[[]]]]], 4)


def test_the_parser_refuses_deep_bodies_whether_or_not_python_could_read_them():
    assert parse('{"allocations": [{"cause": "x", "points": 1}]}')["allocations"][0]["points"] == 1
    for depth in (33, 1000, 100_000):
        with pytest.raises(ParseError, match="32 levels deep"):
            parse("[" * depth + "]" * depth)
    allowed = parse("[" * 32 + "]" * 32)  # 32 levels are fine
    assert not nests_deeper_than(allowed, 32) and nests_deeper_than(allowed, 31)


class CountingStream(io.BytesIO):
    """A request body that says how much of it was read."""

    def read(self, size=-1):
        data = super().read(size)
        self.taken = getattr(self, "taken", 0) + len(data)
        return data


def test_the_parser_refuses_bodies_over_a_mebibyte_without_reading_them_whole():
    """What ingress-nginx's proxy-body-size did before the Gateway API, in the service."""
    exactly = '"' + "x" * (MAX_JSON_BYTES - 2) + '"'
    assert len(parse(exactly)) == MAX_JSON_BYTES - 2
    huge = CountingStream(b'"' + b"x" * (8 * MAX_JSON_BYTES) + b'"')
    with pytest.raises(PayloadTooLarge) as refused:
        BoundedJSONParser().parse(huge)
    assert refused.value.status_code == 413
    assert str(MAX_JSON_BYTES) in str(refused.value.detail)
    assert huge.taken == MAX_JSON_BYTES + 1


@pytest.mark.parametrize("raw, value", [("1", 1), ("500", 500), ("007", 7)])
def test_whole_numbers_in_bounds_are_read(raw, value):
    assert whole_number("limit", raw, minimum=1, maximum=500, message="m") == value


@pytest.mark.parametrize(
    "raw", ["0", "501", "-1", "+5", " 5", "5_0", "1.0", "1e3", "", "٥", "9" * 10_000]
)
def test_anything_else_is_a_400_naming_the_parameter(raw):
    with pytest.raises(ValidationError) as refused:
        whole_number("limit", raw, minimum=1, maximum=500, message="Use 1 to 500.")
    assert refused.value.detail == {"limit": ["Use 1 to 500."]}


@pytest.mark.parametrize("given", ["12", 12.0, True, False, [12]])
def test_the_strict_integer_field_takes_a_json_integer_only(given):
    field = StrictIntegerField(min_value=0, error_messages={"invalid": "A whole number."})
    assert field.run_validation(12) == 12
    with pytest.raises(ValidationError) as refused:
        field.run_validation(given)
    assert refused.value.detail == ["A whole number."]
