"""The blockfrost source end to end: the SDK's real requests to a local Blockfrost."""

import time

import pytest
from pycardano import Network

from accounts.chain.sources import (
    ChainSourceInvalidAnswer,
    ChainSourceRefused,
    ChainSourceUnavailable,
    StakeRow,
    configured_source,
)
from accounts.chain.sources.blockfrost import BlockfrostSource
from shared_events.kit.chain_clients.testing import Answer

from .remotes import (
    FAST,
    POOL,
    BlockfrostRemote,
    blockfrost_429,
    distribution,
    stake_addresses,
)


@pytest.fixture
def remote(http_server):
    return BlockfrostRemote(http_server)


def source_for(remote, *, project_id=None, policy=FAST, network=Network.MAINNET):
    return BlockfrostSource(
        project_id=project_id or remote.project_id,
        api_url=remote.url,
        network=network,
        policy=policy,
    )


def expected(rows):
    return sorted(StakeRow(address, int(amount)) for address, amount in rows)


def test_current_epoch_is_the_latest_epoch_and_the_project_id_is_sent(remote, http_server):
    remote.latest = 533
    assert source_for(remote).current_epoch() == 533
    assert http_server.requests[0].headers["project_id"] == remote.project_id


def test_a_distribution_spans_every_page(remote, http_server):
    remote.stakes[512] = distribution(250)
    rows = source_for(remote).pool_stake_distribution(POOL, 512)
    assert rows == expected(remote.stakes[512])
    pages = [(r.path, r.query["page"], r.query["count"]) for r in http_server.requests]
    assert pages == [(f"/api/v0/epochs/512/stakes/{POOL}", str(page), "100") for page in (1, 2, 3)]


def test_full_last_page_is_followed_by_an_empty_one(remote, http_server):
    remote.stakes[512] = distribution(200)
    assert len(source_for(remote).pool_stake_distribution(POOL, 512)) == 200
    assert [r.query["page"] for r in http_server.requests] == ["1", "2", "3"]


def test_an_epoch_without_delegators_is_empty(remote, http_server):
    remote.stakes[512] = []
    assert source_for(remote).pool_stake_distribution(POOL, 512) == []
    assert len(http_server.requests) == 1


def test_429_backs_off_and_retries_the_same_page(remote, http_server):
    remote.stakes[512] = distribution(150)
    http_server.faults = [blockfrost_429(), blockfrost_429()]
    started = time.monotonic()
    rows = source_for(remote).pool_stake_distribution(POOL, 512)
    assert rows == expected(remote.stakes[512])
    assert time.monotonic() - started >= 0.05 + 0.1  # the backoff: first delay, then doubled
    assert [r.query["page"] for r in http_server.requests] == ["1", "1", "1", "2"]


def test_429_with_retry_after_waits_that_long(remote, http_server):
    # A proxy in front of a self-hosted instance: a plain body, so the SDK keeps the headers.
    remote.stakes[512] = distribution(3)
    http_server.faults = [Answer(429, b"Too Many Requests", {"Retry-After": "1"})]
    started = time.monotonic()
    assert len(source_for(remote).pool_stake_distribution(POOL, 512)) == 3
    assert time.monotonic() - started >= 1.0


def test_retry_after_beyond_the_longest_wait_gives_up_at_once(remote, http_server):
    http_server.faults = [Answer(429, b"slow down", {"Retry-After": "3600"})]
    with pytest.raises(ChainSourceUnavailable, match="asked to wait 3600 s"):
        source_for(remote).current_epoch()
    assert len(http_server.requests) == 1


def test_5xx_is_retried_then_succeeds(remote, http_server):
    http_server.faults = [
        Answer(503, b"<html>503 Service Unavailable</html>"),
        Answer(
            500,
            {
                "status_code": 500,
                "error": "Internal Server Error",
                "message": "An unexpected response was received from the backend.",
            },
        ),
    ]
    assert source_for(remote).current_epoch() == 512
    assert len(http_server.requests) == 3


def test_5xx_that_lasts_is_unavailable_after_the_last_attempt(remote, http_server):
    http_server.faults = [Answer(502, b"bad gateway")] * 10
    with pytest.raises(ChainSourceUnavailable, match="server error 502.*after 4 attempts"):
        source_for(remote).pool_stake_distribution(POOL, 512)
    assert len(http_server.requests) == FAST.attempts


def test_a_source_that_is_down_is_unavailable(remote, http_server):
    url = remote.url
    http_server.stop()
    with pytest.raises(ChainSourceUnavailable, match="cannot reach Blockfrost"):
        BlockfrostSource(
            project_id="p", api_url=url, network=Network.MAINNET, policy=FAST
        ).current_epoch()


def test_a_wrong_project_id_is_refused_without_retrying(remote, http_server):
    with pytest.raises(ChainSourceRefused, match="403: Invalid project token"):
        source_for(remote, project_id="someone-else").current_epoch()
    assert len(http_server.requests) == 1


def test_an_unknown_epoch_is_refused(remote):
    with pytest.raises(ChainSourceRefused, match="404"):
        source_for(remote).pool_stake_distribution(POOL, 999)


@pytest.mark.parametrize(
    "row, problem",
    [
        ({"stake_address": stake_addresses(1)[0], "amount": "-5"}, "not an amount"),
        ({"stake_address": stake_addresses(1)[0], "amount": -5}, "negative stake"),
        ({"stake_address": stake_addresses(1)[0], "amount": "1.5"}, "not an amount"),
        ({"stake_address": stake_addresses(1)[0], "amount": "46000000000000000"}, "ada supply"),
        (
            {"stake_address": stake_addresses(1, Network.TESTNET)[0], "amount": "5"},
            "another network",
        ),
        ({"stake_address": POOL, "amount": "5"}, "not a valid Cardano address|not a stake"),
        (
            {
                "stake_address": "addr1qx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3"
                "jhsydzer3n0d3vllmyqwsx5w"
                "kt"
                "cd8cc3sq835lu7drv2xwl2wywfgse35a3x",
                "amount": "5",
            },
            "not a stake",
        ),
        ({"stake_address": stake_addresses(1)[0]}, "expected objects with stake_address, amount"),
    ],
)
def test_a_nonsense_row_fails_the_whole_epoch(remote, http_server, row, problem):
    good = [{"stake_address": a, "amount": "1"} for a in stake_addresses(3, seed="good")]
    http_server.faults = [Answer(200, good + [row])]
    with pytest.raises(ChainSourceInvalidAnswer, match=problem):
        source_for(remote).pool_stake_distribution(POOL, 512)


@pytest.mark.parametrize(
    "body", [{"stake_address": "x", "amount": "1"}, b"<html>not json</html>", [1, 2], None]
)
def test_an_answer_of_the_wrong_shape_is_invalid(remote, http_server, body):
    http_server.faults = [Answer(200, body)]
    with pytest.raises(ChainSourceInvalidAnswer):
        source_for(remote).pool_stake_distribution(POOL, 512)


def test_an_address_listed_on_two_pages_is_invalid(remote):
    rows = distribution(100)
    remote.stakes[512] = rows + [rows[0]]
    with pytest.raises(ChainSourceInvalidAnswer, match="listed twice"):
        source_for(remote).pool_stake_distribution(POOL, 512)


@pytest.mark.parametrize("answer", [{"epoch": "512"}, {"epoch": -1}, {"number": 5}, [512]])
def test_a_latest_epoch_of_the_wrong_shape_is_invalid(remote, http_server, answer):
    http_server.faults = [Answer(200, answer)]
    with pytest.raises(ChainSourceInvalidAnswer):
        source_for(remote).current_epoch()


def test_the_setting_chooses_blockfrost(remote, settings):
    remote.stakes[512] = distribution(5)
    settings.CHAIN_SOURCE = "blockfrost"
    settings.CARDANO_NETWORK = "mainnet"
    settings.BLOCKFROST_PROJECT_ID = remote.project_id
    settings.BLOCKFROST_API_URL = remote.url
    source = configured_source()
    assert source.name == "blockfrost"
    assert source.pool_stake_distribution(POOL, 512) == expected(remote.stakes[512])


def test_a_distribution_of_another_network_is_invalid(remote):
    remote.stakes[512] = distribution(5)
    with pytest.raises(ChainSourceInvalidAnswer, match="another network"):
        source_for(remote, network=Network.TESTNET).pool_stake_distribution(POOL, 512)
