"""The file source: db-sync exports as CSV or JSON, read strictly, errors naming line and
problem."""

import io
import json

import pytest
from pycardano import Network

from accounts.chain.sources import ChainSourceRefused, StakeRow, StakeSnapshotFileError
from accounts.chain.sources.snapshot_file import StakeSnapshotFile

from .remotes import POOL, stake_addresses

A, B, C = stake_addresses(3)
OTHER_POOL = "pool1z5uqdk7dzdxaae5633fqfcu2eqzy3a3rgtuvy087fdld7yws0xt"


def read(text, *, epoch=None, network=Network.MAINNET):
    data = text if isinstance(text, bytes) else text.encode()
    return StakeSnapshotFile.read(io.BytesIO(data), network=network, pool_id=POOL, epoch=epoch)


def failure(text, **kwargs) -> StakeSnapshotFileError:
    with pytest.raises(StakeSnapshotFileError) as caught:
        read(text, **kwargs)
    return caught.value


def test_csv_with_several_epochs():
    snapshot = read(f"stake_address,epoch,lovelace\n{B},512,20\n{A},512,10\n{A},513,11\n")
    assert snapshot.epochs() == [512, 513]
    assert snapshot.current_epoch() == 513
    assert snapshot.pool_stake_distribution(POOL, 512) == sorted([StakeRow(A, 10), StakeRow(B, 20)])
    assert snapshot.pool_stake_distribution(POOL, 513) == [StakeRow(A, 11)]


def test_csv_columns_in_any_order_with_bom_crlf_and_the_pool_named():
    text = f"\ufefflovelace,pool_id,stake_address,epoch\r\n10,{POOL},{A.upper()},512\r\n\r\n"
    assert read(text).pool_stake_distribution(POOL, 512) == [StakeRow(A, 10)]


def test_json_array_of_rows():
    rows = [
        {"stake_address": A, "epoch": 512, "lovelace": 10},
        {"stake_address": B, "epoch": 512, "lovelace": "4440295078"},
    ]
    snapshot = read(json.dumps(rows))
    assert snapshot.pool_stake_distribution(POOL, 512) == sorted(
        [StakeRow(A, 10), StakeRow(B, 4440295078)]
    )


@pytest.mark.parametrize("text", ["stake_address,epoch,lovelace\n", "[]"])
def test_an_epoch_without_delegators_is_imported_by_naming_it(text):
    assert read(text, epoch=600).distributions == {600: []}
    assert failure(text).problem.startswith("no rows")


def test_an_epoch_the_file_does_not_hold_is_refused():
    with pytest.raises(ChainSourceRefused, match="no distribution of epoch 9"):
        read(f"stake_address,epoch,lovelace\n{A},512,10\n").pool_stake_distribution(POOL, 9)


@pytest.mark.parametrize(
    "body, where, problem",
    [
        (f"{A},512,-5", "line 3", "not an amount of lovelace: '-5'"),
        (f"{A},512,1.5", "line 3", "not an amount of lovelace"),
        (f"{A},512,", "line 3", "not an amount of lovelace: ''"),
        (f"{A},twelve,5", "line 3", "not an epoch number: 'twelve'"),
        (f"{stake_addresses(1, Network.TESTNET)[0]},512,5", "line 3", "another network"),
        (
            "addr1qx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3n0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl"
            "2wywfgse35a3x,512,5",
            "line 3",
            "not a stake (reward) address",
        ),
        ("stake1garbage,512,5", "line 3", "not a valid Cardano address"),
        (f"{A},512", "line 3", "2 fields where the header has 3"),
        (f"{A},512,5,extra", "line 3", "4 fields where the header has 3"),
        (f"{B},512,5", "line 3", f"{B} appears twice in epoch 512 (first at line 2)"),
        (f'"{A},512,5', "line 3", "not valid CSV"),
    ],
)
def test_a_bad_csv_line_is_named_with_its_problem(body, where, problem):
    error = failure(f"stake_address,epoch,lovelace\n{B},512,1\n{body}\n")
    assert error.where == where
    assert problem in error.problem
    assert str(error).startswith(f"{where}: ")


@pytest.mark.parametrize(
    "header, problem",
    [
        ("stake_address,lovelace", "missing epoch"),
        ("stake_address,epoch,lovelace,amount", "unknown 'amount'"),
        ("stake_address,epoch,lovelace,epoch", "repeated epoch"),
    ],
)
def test_a_bad_header_is_named(header, problem):
    error = failure(f"{header}\n")
    assert error.where == "line 1"
    assert problem in error.problem


def test_a_row_of_another_pool_is_refused():
    error = failure(f"stake_address,epoch,lovelace,pool_id\n{A},512,5,{OTHER_POOL}\n")
    assert (error.where, "is not the configured pool" in error.problem) == ("line 2", True)


def test_a_row_of_another_epoch_than_named_is_refused():
    error = failure(f"stake_address,epoch,lovelace\n{A},512,5\n{B},513,5\n", epoch=512)
    assert (error.where, error.problem) == ("line 3", "epoch 513, but the import is of epoch 512")


ROW = f'{{"stake_address": "{A}", "epoch": 512'


@pytest.mark.parametrize(
    "text, where, problem",
    [
        (f'[{ROW}, "lovelace": -1}}]', "item 1", "negative stake"),
        (f'[{ROW}, "lovelace": 1.0}}]', "item 1", "not an amount"),
        (f'[{ROW}, "lovelace": true}}]', "item 1", "not an amount"),
        (f"[{ROW}}}]", "item 1", "missing lovelace"),
        (f'[{ROW}, "lovelace": 1}}, 5]', "item 2", "an object"),
        (f'[{ROW}, "lovelace": 1}},\n {{"x": ]', "line 2", "not valid JSON"),
    ],
)
def test_a_bad_json_item_is_named_with_its_problem(text, where, problem):
    error = failure(text)
    assert error.where == where
    assert problem in error.problem


@pytest.mark.parametrize(
    "data, problem",
    [
        (b"", "the file is empty"),
        ("stake_address,epoch,lovelace\n".encode("utf-16"), "not UTF-8"),
        (b'{"stake_address": "x"}', "a JSON file holds one array of rows"),
    ],
)
def test_a_file_that_is_not_a_snapshot_is_refused(data, problem):
    assert problem in failure(data).problem
