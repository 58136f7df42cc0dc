"""The `file` chain source: stake distributions exported from the pool's own db-sync (or any
tool that writes the same shape), read strictly.

Accepted shapes (UTF-8), one row per delegator and epoch:

CSV with a header row, columns in any order::

    stake_address,epoch,lovelace
    stake1u9l5q5jwgelgagzyt6nuaasefgmn8pd25c8e9qpeprq0tdcp0e3uk,512,4440295078

JSON, an array of objects::

    [{"stake_address": "stake1u9…", "epoch": 512, "lovelace": 4440295078}]

`epoch` and `lovelace` are whole numbers (in JSON also strings of digits). An optional
`pool_id` column must then name the configured pool on every row. A file may hold several
epochs (a history for loyalty); an epoch without delegators cannot be written as rows, so it is
imported by naming the epoch (`--epoch`) with a file that has none. Any problem fails the whole
file with the line (CSV) or item (JSON) and what is wrong; nothing of a bad file is imported.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

from shared_events.kit.chain_clients import values

from .base import ChainSourceRefused, StakeRow, StakeSnapshotFileError

if TYPE_CHECKING:
    from pycardano import Network

REQUIRED_COLUMNS = ("stake_address", "epoch", "lovelace")
OPTIONAL_COLUMNS = ("pool_id",)


class StakeSnapshotFile:
    """A parsed snapshot file, answering as a chain source for the epochs it holds."""

    name = "file"

    def __init__(self, distributions: dict[int, list[StakeRow]]) -> None:
        self.distributions = distributions

    @classmethod
    def read(
        cls, stream: IO[bytes], *, network: Network, pool_id: str, epoch: int | None = None
    ) -> StakeSnapshotFile:
        try:
            text = stream.read().decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise StakeSnapshotFileError(f"not UTF-8 text (byte {error.start})") from None
        records = (
            _json_records(text) if text.lstrip().startswith(("[", "{")) else _csv_records(text)
        )
        by_epoch: dict[int, dict[str, tuple[int, str]]] = {} if epoch is None else {epoch: {}}
        for where, record in records:
            address, row_epoch, amount = _checked(
                record, where, network=network, pool_id=pool_id, epoch=epoch
            )
            seen = by_epoch.setdefault(row_epoch, {})
            if address in seen:
                raise StakeSnapshotFileError(
                    f"{address} appears twice in epoch {row_epoch} (first at {seen[address][1]})",
                    where=where,
                )
            seen[address] = (amount, where)
        if not by_epoch:
            raise StakeSnapshotFileError(
                "no rows; to import an epoch without delegators, name the epoch"
            )
        return cls(
            {
                number: [StakeRow(a, amount) for a, (amount, _) in sorted(rows.items())]
                for number, rows in sorted(by_epoch.items())
            }
        )

    def epochs(self) -> list[int]:
        return sorted(self.distributions)

    def current_epoch(self) -> int:
        return max(self.distributions)

    def pool_stake_distribution(self, pool_id: str, epoch: int) -> list[StakeRow]:
        try:
            return self.distributions[epoch]
        except KeyError:
            raise ChainSourceRefused(f"the file holds no distribution of epoch {epoch}") from None


def _csv_records(text: str) -> Iterator[tuple[str, dict[str, str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise StakeSnapshotFileError("the file is empty")
        columns = [name.strip() for name in header]
        _check_columns(columns, where="line 1")
        for row in reader:
            where = f"line {reader.line_num}"
            if not row:
                continue  # a blank line
            if len(row) != len(columns):
                raise StakeSnapshotFileError(
                    f"{len(row)} fields where the header has {len(columns)}", where=where
                )
            yield where, dict(zip(columns, (field.strip() for field in row), strict=True))
    except csv.Error as error:
        raise StakeSnapshotFileError(
            f"not valid CSV ({error})", where=f"line {reader.line_num}"
        ) from None


def _json_records(text: str) -> Iterator[tuple[str, dict[str, object]]]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as error:
        raise StakeSnapshotFileError(
            f"not valid JSON ({error.msg})", where=f"line {error.lineno}"
        ) from None
    if not isinstance(items, list):
        raise StakeSnapshotFileError("a JSON file holds one array of rows")
    for index, item in enumerate(items, start=1):
        where = f"item {index}"
        if not isinstance(item, dict):
            raise StakeSnapshotFileError("each row is an object", where=where)
        _check_columns(list(item), where=where)
        yield where, item


def _check_columns(columns: list[str], *, where: str) -> None:
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    unknown = [name for name in columns if name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if missing or unknown or repeated:
        problems = [
            f"missing {', '.join(missing)}" if missing else "",
            f"unknown {', '.join(map(repr, unknown))}" if unknown else "",
            f"repeated {', '.join(repeated)}" if repeated else "",
        ]
        raise StakeSnapshotFileError(
            f"columns must be {', '.join(REQUIRED_COLUMNS)} (and optionally pool_id): "
            + "; ".join(p for p in problems if p),
            where=where,
        )


def _checked(
    record: dict, where: str, *, network: Network, pool_id: str, epoch: int | None
) -> tuple[str, int, int]:
    try:
        address = values.stake_address(record["stake_address"], network)
        row_epoch = values.epoch_number(_whole(record["epoch"]))
        amount = values.lovelace(record["lovelace"])
        if "pool_id" in record and values.pool_id(record["pool_id"]) != pool_id:
            raise ValueError(f"pool_id {record['pool_id']!r} is not the configured pool")
    except ValueError as problem:
        raise StakeSnapshotFileError(str(problem), where=where) from None
    if epoch is not None and row_epoch != epoch:
        raise StakeSnapshotFileError(
            f"epoch {row_epoch}, but the import is of epoch {epoch}", where=where
        )
    return address, row_epoch, amount


def _whole(value: object) -> object:
    """CSV fields are text (and JSON may quote numbers): an epoch is then a string of digits."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 9:
        return int(value)
    return value
