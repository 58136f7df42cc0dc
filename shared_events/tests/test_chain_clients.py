"""The kit's chain clients over real sockets (a LocalHttpServer playing the remote end), and
the checks of the values a source hands over."""

import hashlib
import re

import pytest
from pycardano import Address, Network
from pycardano.hash import VerificationKeyHash

from shared_events.kit.chain_clients import values
from shared_events.kit.chain_clients.blockfrost import BlockfrostClient
from shared_events.kit.chain_clients.errors import ChainSourceRefused, ChainSourceUnavailable
from shared_events.kit.chain_clients.koios import KoiosClient
from shared_events.kit.chain_clients.retry import RetryPolicy
from shared_events.kit.chain_clients.testing import Answer, LocalHttpServer, Request

FAST = RetryPolicy(attempts=3, first_delay=0.01, max_delay=1.0, timeout=5.0)
KEY_HASH = VerificationKeyHash(hashlib.blake2b(b"kit", digest_size=28).digest())


@pytest.fixture
def server():
    server = LocalHttpServer().start()
    yield server
    server.stop()


def test_a_payment_address_of_the_network_is_accepted_in_canonical_form():
    address = Address(payment_part=KEY_HASH, staking_part=KEY_HASH, network=Network.MAINNET)
    assert values.payment_address(f"  {address.encode()} ", Network.MAINNET) == address.encode()


@pytest.mark.parametrize(
    "value, problem",
    [
        ("addr1qqqq", "not a bech32 Shelley address"),
        (None, "not a bech32 Shelley address"),
        ("x" * 200, "not a bech32 Shelley address"),
        (Address(staking_part=KEY_HASH, network=Network.MAINNET).encode(), "a stake (reward)"),
        (
            Address(payment_part=KEY_HASH, network=Network.TESTNET).encode(),
            "another network",
        ),
    ],
)
def test_anything_else_is_refused_saying_what_it_is(value, problem):
    with pytest.raises(ValueError, match=re.escape(problem)):
        values.payment_address(value, Network.MAINNET)


def test_koios_post_sends_the_json_body_and_retries_a_5xx(server):
    seen: list[Request] = []

    def tx_info(request: Request) -> Answer:
        seen.append(request)
        return Answer(200, [{"tx_hash": request.body["_tx_hashes"][0]}])

    server.route("/api/v1/tx_info", tx_info)
    server.faults = [Answer(503, b"busy")]
    client = KoiosClient(api_url=f"{server.url}/api/v1/", token="t0k", policy=FAST)
    assert client.post("tx_info", "tx_info", {"_tx_hashes": ["ab"]}) == [{"tx_hash": "ab"}]
    assert [r.method for r in server.requests] == ["POST", "POST"]
    assert seen[0].headers["authorization"] == "Bearer t0k"


def test_koios_refusals_and_outages_are_told_apart(server):
    client = KoiosClient(api_url=server.url, token=None, policy=FAST)
    with pytest.raises(ChainSourceRefused, match="Koios answered 404"):
        client.get("nothing", "nothing", {})
    server.faults = [Answer(502, b"")] * 3
    with pytest.raises(ChainSourceUnavailable, match="gave up after 3 attempts"):
        client.get("tip", "tip", {})


def test_blockfrost_404_can_mean_not_found(server):
    client = BlockfrostClient(project_id="p", api_url=f"{server.url}/api/v0", policy=FAST)
    missing = client.call("tx", lambda: client.api.transaction("ab" * 32), not_found={})
    assert missing == {}
    assert server.paths() == [f"/api/v0/txs/{'ab' * 32}"]
    with pytest.raises(ChainSourceRefused, match="Blockfrost answered 404"):
        client.call("tx", lambda: client.api.transaction("ab" * 32))
