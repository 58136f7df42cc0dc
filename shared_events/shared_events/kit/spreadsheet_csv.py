"""CSV that operators open in a spreadsheet: no cell of text may run as a formula.

A spreadsheet reads a cell starting with `=`, `+`, `-` or `@` (or a tab or carriage return
before one) as a formula, so a cause title like `=HYPERLINK(...)` would act when an operator
opens the export. Following OWASP's advice on CSV injection, such text gets a leading single
quote, which spreadsheets show as text. Numbers passed as numbers (int, float, Decimal) stay as
they are: they are ours, not a user's, and a negative one is not a formula; every other value
(text of ours formatted as text too) goes through the rule.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, TextIO

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(value: Any) -> Any:
    """A number or None as it is; anything else as text, quoted if it would be evaluated."""
    if value is None or isinstance(value, (int, float, Decimal)):
        return value
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


class SpreadsheetSafeWriter:
    """`csv.writer` whose text cells are passed through `formula_safe`."""

    def __init__(self, out: TextIO, **fmtparams: Any) -> None:
        self._writer = csv.writer(out, **fmtparams)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([formula_safe(value) for value in row])
