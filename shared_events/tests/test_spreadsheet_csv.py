"""Text that a spreadsheet would evaluate as a formula is written as text (OWASP's rule)."""

import csv
import io
import uuid
from decimal import Decimal

import pytest

from shared_events.kit.spreadsheet_csv import SpreadsheetSafeWriter, formula_safe


@pytest.mark.parametrize(
    "text",
    [
        "=1+1",
        "+41",
        "-2+3",
        "@SUM(A1:A9)",
        "\t=1",
        "\r=1",
        '=HYPERLINK("https://evil.example","click")',
    ],
)
def test_text_starting_a_formula_gets_a_leading_quote(text):
    assert formula_safe(text) == f"'{text}"


@pytest.mark.parametrize("value", ["Wells", "a=b", "", " =1", "'=1", "2026-01-01T00:00:00"])
def test_other_text_is_left_alone(value):
    assert formula_safe(value) == value


@pytest.mark.parametrize("number", [-5, 0, 7, -1.5, Decimal("-0.250000"), None])
def test_numbers_we_write_as_numbers_stay_numbers(number):
    assert formula_safe(number) is number


def test_values_that_are_not_text_are_judged_by_their_text():
    class Title:
        def __str__(self):
            return "=evil()"

    ident = uuid.uuid4()
    assert formula_safe(ident) == str(ident) and formula_safe(Title()) == "'=evil()"


def test_the_writer_neutralises_every_cell_and_round_trips():
    out = io.StringIO()
    writer = SpreadsheetSafeWriter(out)
    writer.writerow(["title", "points"])
    writer.writerow(['=cmd|" /C calc"!A0', -3])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [
        ["title", "points"],
        ['\'=cmd|" /C calc"!A0', "-3"],
    ]
