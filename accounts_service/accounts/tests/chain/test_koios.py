"""The koios source end to end: real requests to a local Koios (PostgREST shapes and paging)."""

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
from accounts.chain.sources.koios import KoiosSource
from shared_events.kit.chain_clients.testing import Answer

from .remotes import FAST, POOL, KoiosRemote, distribution, stake_addresses


@pytest.fixture
def remote(http_server):
    return KoiosRemote(http_server)


def source_for(remote, *, token=None, policy=FAST, network=Network.MAINNET):
    return KoiosSource(api_url=remote.url, token=token, network=network, policy=policy)


def expected(rows):
    return sorted(StakeRow(address, int(amount)) for address, amount in rows)


def page(rows, epoch=512):
    return [{"stake_address": a, "amount": amount, "epoch_no": epoch} for a, amount in rows]


def test_current_epoch_is_the_tips(remote):
    remote.tip_epoch = 540
    assert source_for(remote).current_epoch() == 540


def test_a_distribution_spans_every_page_in_a_fixed_order(remote, http_server):
    remote.stakes[512] = distribution(2500)
    assert source_for(remote).pool_stake_distribution(POOL, 512) == expected(remote.stakes[512])
    asked = [
        (
            r.query["offset"],
            r.query["limit"],
            r.query["_epoch_no"],
            r.query["_pool_bech32"],
            r.query["order"],
        )
        for r in http_server.requests
    ]
    assert asked == [
        (str(offset), "1000", "512", POOL, "stake_address.asc") for offset in (0, 1000, 2000)
    ]


def test_full_last_page_is_followed_by_an_empty_one(remote, http_server):
    remote.stakes[512] = distribution(2000)
    assert len(source_for(remote).pool_stake_distribution(POOL, 512)) == 2000
    assert [r.query["offset"] for r in http_server.requests] == ["0", "1000", "2000"]


def test_an_epoch_without_delegators_is_empty(remote, http_server):
    assert source_for(remote).pool_stake_distribution(POOL, 512) == []
    assert len(http_server.requests) == 1


def test_a_null_answer_is_an_epoch_without_delegators(remote, http_server):
    http_server.faults = [Answer(200, None)]  # the schema's "array or null"
    assert source_for(remote).pool_stake_distribution(POOL, 512) == []


def test_the_bearer_token_is_sent(http_server):
    remote = KoiosRemote(http_server, token="koios-token")
    remote.stakes[512] = distribution(3)
    assert len(source_for(remote, token="koios-token").pool_stake_distribution(POOL, 512)) == 3
    assert http_server.requests[0].headers["authorization"] == "Bearer koios-token"


def test_a_wrong_token_is_refused_without_retrying(http_server):
    remote = KoiosRemote(http_server, token="koios-token")
    with pytest.raises(ChainSourceRefused, match="401"):
        source_for(remote, token="stolen").current_epoch()
    assert len(http_server.requests) == 1


def test_429_waits_as_long_as_retry_after_says(remote, http_server):
    remote.stakes[512] = distribution(1500)
    http_server.faults = [Answer(429, b"Too many requests", {"Retry-After": "1"})]
    started = time.monotonic()
    rows = source_for(remote).pool_stake_distribution(POOL, 512)
    assert time.monotonic() - started >= 1.0
    assert rows == expected(remote.stakes[512])
    assert [r.query["offset"] for r in http_server.requests] == ["0", "0", "1000"]


def test_429_without_retry_after_backs_off(remote, http_server):
    http_server.faults = [Answer(429, b"")] * 2
    started = time.monotonic()
    assert source_for(remote).current_epoch() == 512
    assert time.monotonic() - started >= 0.05 + 0.1


def test_429_that_lasts_is_unavailable_after_the_last_attempt(remote, http_server):
    http_server.faults = [Answer(429, b"", {"Retry-After": "0"})] * 10
    with pytest.raises(ChainSourceUnavailable, match="rate limited.*after 4 attempts"):
        source_for(remote).current_epoch()
    assert len(http_server.requests) == 4


def test_retry_after_beyond_the_longest_wait_gives_up_at_once(remote, http_server):
    http_server.faults = [Answer(429, b"", {"Retry-After": "60"})]
    with pytest.raises(ChainSourceUnavailable, match="asked to wait 60 s"):
        source_for(remote).current_epoch()
    assert len(http_server.requests) == 1


def test_5xx_is_retried_then_succeeds(remote, http_server):
    remote.stakes[512] = distribution(10)
    http_server.faults = [Answer(504, b"Gateway timeout"), Answer(500, b"")]
    assert source_for(remote).pool_stake_distribution(POOL, 512) == expected(remote.stakes[512])
    assert len(http_server.requests) == 3


def test_5xx_that_lasts_is_unavailable(remote, http_server):
    http_server.faults = [Answer(503, b"")] * 10
    with pytest.raises(ChainSourceUnavailable, match="server error 503"):
        source_for(remote).pool_stake_distribution(POOL, 512)
    assert len(http_server.requests) == FAST.attempts


def test_a_source_that_is_down_is_unavailable(remote, http_server):
    http_server.stop()
    with pytest.raises(ChainSourceUnavailable, match="cannot reach Koios"):
        source_for(remote).current_epoch()


def test_a_request_that_hangs_times_out(remote, http_server):
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts connections, never answers
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/api/v1"
        policy = type(FAST)(attempts=2, first_delay=0.05, max_delay=1, timeout=0.3)
        started = time.monotonic()
        with pytest.raises(ChainSourceUnavailable, match="ReadTimeout"):
            KoiosSource(
                api_url=url, token=None, network=Network.MAINNET, policy=policy
            ).current_epoch()
        assert time.monotonic() - started < 5
    finally:
        listener.close()


@pytest.mark.parametrize(
    "row, problem",
    [
        (
            {"stake_address": stake_addresses(1)[0], "amount": "-1", "epoch_no": 512},
            "not an amount",
        ),
        (
            {"stake_address": stake_addresses(1)[0], "amount": None, "epoch_no": 512},
            "not an amount",
        ),
        (
            {
                "stake_address": stake_addresses(1, Network.TESTNET)[0],
                "amount": "1",
                "epoch_no": 512,
            },
            "another network",
        ),
        ({"stake_address": "stake1nonsense", "amount": "1", "epoch_no": 512}, "not a"),
        ({"stake_address": stake_addresses(1)[0], "amount": "1", "epoch_no": 511}, "epoch 511"),
        ({"stake_address": stake_addresses(1)[0], "amount": "1"}, "expected objects"),
    ],
)
def test_a_nonsense_row_fails_the_whole_epoch(remote, http_server, row, problem):
    rows = page(distribution(2)) + [row]
    http_server.faults = [Answer(200, rows, {"Content-Range": f"0-{len(rows) - 1}/*"})]
    with pytest.raises(ChainSourceInvalidAnswer, match=problem):
        source_for(remote).pool_stake_distribution(POOL, 512)


@pytest.mark.parametrize("header", ["5-7/*", "0-9/*", "bytes 0-2/*", "*/*"])
def test_a_content_range_that_disagrees_with_the_rows_is_invalid(remote, http_server, header):
    http_server.faults = [Answer(200, page(distribution(3)), {"Content-Range": header})]
    with pytest.raises(ChainSourceInvalidAnswer, match="Content-Range"):
        source_for(remote).pool_stake_distribution(POOL, 512)


@pytest.mark.parametrize(
    "body",
    [{"epoch_no": 512}, [], [{"epoch_no": 1}, {"epoch_no": 2}], [{"epoch_no": "512"}], b"not json"],
)
def test_a_tip_of_the_wrong_shape_is_invalid(remote, http_server, body):
    http_server.faults = [Answer(200, body)]
    with pytest.raises(ChainSourceInvalidAnswer):
        source_for(remote).current_epoch()


def test_the_setting_chooses_koios(remote, settings):
    remote.stakes[512] = distribution(5)
    settings.CHAIN_SOURCE = "koios"
    settings.CARDANO_NETWORK = "mainnet"
    settings.KOIOS_API_URL = remote.url
    source = configured_source()
    assert source.name == "koios"
    assert source.pool_stake_distribution(POOL, 512) == expected(remote.stakes[512])


@pytest.mark.parametrize("kind", ["none", "file"])
def test_none_and_file_are_not_polled(settings, kind):
    settings.CHAIN_SOURCE = kind
    assert configured_source() is None
