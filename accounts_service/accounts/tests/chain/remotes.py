"""Blockfrost and Koios as they document themselves, served by LocalHttpServer: the paths, the
parameters, the paging and the response shapes of the endpoints the chain sources use."""

from __future__ import annotations

import hashlib

from pycardano import Address, Network
from pycardano.hash import VerificationKeyHash

from shared_events.kit.chain_clients.retry import RetryPolicy
from shared_events.kit.chain_clients.testing import Answer, LocalHttpServer, Request

POOL = "pool1pu5jlj4q9w9jlxeu370a3c9myx47md5j5m2str0naunn2q3lkdy"  # Blockfrost's own example
# Short waits so retries are tested for real in well under a second each.
FAST = RetryPolicy(attempts=4, first_delay=0.05, max_delay=5.0, timeout=5.0)


def stake_addresses(count: int, network: Network = Network.MAINNET, seed: str = "") -> list[str]:
    """Real, distinct stake addresses (key hashes derived from the index)."""
    return [
        Address(
            staking_part=VerificationKeyHash(
                hashlib.blake2b(f"{seed}{index}".encode(), digest_size=28).digest()
            ),
            network=network,
        ).encode()
        for index in range(count)
    ]


def distribution(count: int, *, seed: str = "") -> list[tuple[str, str]]:
    """(stake address, lovelace as the APIs send it: a string)."""
    return [
        (address, str(1_000_000 * (index + 1) + 7))
        for index, address in enumerate(stake_addresses(count, seed=seed))
    ]


class BlockfrostRemote:
    """`/api/v0/epochs/latest` and `/api/v0/epochs/{n}/stakes/{pool}` (count ≤ 100, page ≥ 1)."""

    PREFIX = "/api/v0"

    def __init__(
        self, server: LocalHttpServer, *, project_id: str = "mainnetTestProject", latest: int = 512
    ) -> None:
        self.project_id = project_id
        self.latest = latest
        self.stakes: dict[int, list[tuple[str, str]]] = {}
        server.route(f"{self.PREFIX}/epochs/", self._answer)
        self.url = f"{server.url}{self.PREFIX}"

    def _answer(self, request: Request) -> Answer:
        if request.headers.get("project_id") != self.project_id:
            return Answer(
                403, {"status_code": 403, "error": "Forbidden", "message": "Invalid project token."}
            )
        parts = request.path[len(self.PREFIX) :].strip("/").split("/")
        if parts == ["epochs", "latest"]:
            return Answer(
                200,
                {
                    "epoch": self.latest,
                    "start_time": 1603403091,
                    "end_time": 1603835086,
                    "first_block_time": 1603403092,
                    "last_block_time": 1603835084,
                    "block_count": 21298,
                    "tx_count": 17856,
                    "output": "7849943934049314",
                    "fees": "4203312194",
                    "active_stake": "784953934049314",
                },
            )
        if len(parts) == 4 and parts[0] == "epochs" and parts[2] == "stakes":
            epoch, pool = int(parts[1]), parts[3]
            count = int(request.query.get("count", 100))
            page = int(request.query.get("page", 1))
            if not 1 <= count <= 100 or page < 1:
                return Answer(
                    400,
                    {
                        "status_code": 400,
                        "error": "Bad Request",
                        "message": "Backend did not understand your request.",
                    },
                )
            if epoch not in self.stakes or pool != POOL:
                return Answer(
                    404,
                    {
                        "status_code": 404,
                        "error": "Not Found",
                        "message": "The requested component has not been found.",
                    },
                )
            rows = self.stakes[epoch][(page - 1) * count : page * count]
            return Answer(
                200, [{"stake_address": address, "amount": amount} for address, amount in rows]
            )
        return Answer(
            404,
            {
                "status_code": 404,
                "error": "Not Found",
                "message": "The requested component has not been found.",
            },
        )


def blockfrost_429() -> Answer:
    return Answer(
        429, {"status_code": 429, "error": "Project Over Limit", "message": "Usage is over limit."}
    )


class KoiosRemote:
    """`/api/v1/tip` and `/api/v1/pool_delegators_history` (offset/limit ≤ 1000, ordered)."""

    PREFIX = "/api/v1"

    def __init__(
        self, server: LocalHttpServer, *, tip_epoch: int = 512, token: str | None = None
    ) -> None:
        self.tip_epoch = tip_epoch
        self.token = token
        self.stakes: dict[int, list[tuple[str, str]]] = {}
        server.route(f"{self.PREFIX}/", self._answer)
        self.url = f"{server.url}{self.PREFIX}"

    def _answer(self, request: Request) -> Answer:
        if self.token and request.headers.get("authorization") != f"Bearer {self.token}":
            return Answer(
                401,
                {
                    "code": "PGRST301",
                    "details": None,
                    "hint": None,
                    "message": "JWSError JWSInvalidSignature",
                },
            )
        endpoint = request.path[len(self.PREFIX) :].strip("/")
        if endpoint == "tip":
            return Answer(
                200,
                [
                    {
                        "hash": "4d44c8a453e677f933c3df42ebcf2fe45987c41268b9cfc9b42ae305e8c3d99a",
                        "epoch_no": self.tip_epoch,
                        "abs_slot": 51700871,
                        "epoch_slot": 120071,
                        "block_height": 6806994,
                        "block_time": 1643267162,
                    }
                ],
            )
        if endpoint == "pool_delegators_history":
            if request.query.get("_pool_bech32") != POOL:
                return Answer(200, [])
            epoch = int(request.query["_epoch_no"])
            offset = int(request.query.get("offset", 0))
            limit = min(int(request.query.get("limit", 1000)), 1000)
            rows = sorted(self.stakes.get(epoch, []))
            if request.query.get("order") != "stake_address.asc":
                rows.reverse()  # without an order PostgREST promises none
            page = rows[offset : offset + limit]
            content_range = f"{offset}-{offset + len(page) - 1}/*" if page else "*/*"
            return Answer(
                200,
                [
                    {"stake_address": address, "amount": amount, "epoch_no": epoch}
                    for address, amount in page
                ],
                headers={"Content-Range": content_range},
            )
        return Answer(
            404,
            {
                "code": "PGRST202",
                "details": None,
                "hint": None,
                "message": f"Could not find the function {endpoint}",
            },
        )
