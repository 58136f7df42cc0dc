"""Blockfrost and Koios as they document their transaction endpoints, served by the kit's
LocalHttpServer from one scripted ledger: `txs/{hash}`, `txs/{hash}/utxos` and `blocks/latest`
(Blockfrost), `POST tx_info` and `tip` (Koios)."""

from __future__ import annotations

import dataclasses
import hashlib

from pycardano import Address, Network
from pycardano.hash import VerificationKeyHash

from shared_events.kit.chain_clients.testing import Answer, LocalHttpServer, Request

PROJECT_ID = "mainnetPayoutTests"
NOT_FOUND = {
    "status_code": 404,
    "error": "Not Found",
    "message": "The requested component has not been found.",
}


def payment_address(seed: str, network: Network = Network.MAINNET) -> str:
    """A real Shelley enterprise address (addr1…), its key hash derived from `seed`."""
    key_hash = VerificationKeyHash(hashlib.blake2b(seed.encode(), digest_size=28).digest())
    return Address(payment_part=key_hash, network=network).encode()


def tx_hash(seed: str) -> str:
    return hashlib.blake2b(seed.encode(), digest_size=32).hexdigest()


@dataclasses.dataclass
class Tx:
    block_height: int
    outputs: list[tuple[str, int]]  # (address, lovelace)
    valid_contract: bool = True


@dataclasses.dataclass
class Ledger:
    """What the chain holds: the tip's height and the transactions in blocks."""

    tip_height: int = 10_000_000
    txs: dict[str, Tx] = dataclasses.field(default_factory=dict)

    def add(self, tx_hash: str, outputs: list[tuple[str, int]], *, depth: int = 20) -> Tx:
        """A transaction `depth` blocks deep (its own block counted)."""
        tx = Tx(block_height=self.tip_height - depth + 1, outputs=outputs)
        self.txs[tx_hash] = tx
        return tx


class BlockfrostTxRemote:
    PREFIX = "/api/v0"

    def __init__(self, server: LocalHttpServer, ledger: Ledger) -> None:
        self.ledger = ledger
        server.route(f"{self.PREFIX}/txs/", self._txs)
        server.route(f"{self.PREFIX}/blocks/latest", self._latest)
        self.url = f"{server.url}{self.PREFIX}"

    def _refused(self, request: Request) -> Answer | None:
        if request.headers.get("project_id") != PROJECT_ID:
            return Answer(
                403, {"status_code": 403, "error": "Forbidden", "message": "Invalid project token."}
            )
        return None

    def _txs(self, request: Request) -> Answer:
        if refused := self._refused(request):
            return refused
        parts = request.path[len(self.PREFIX) :].strip("/").split("/")
        tx = self.ledger.txs.get(parts[1])
        if tx is None:
            return Answer(404, NOT_FOUND)
        if len(parts) == 2:
            total = sum(amount for _, amount in tx.outputs)
            return Answer(
                200,
                {
                    "hash": parts[1],
                    "block": hashlib.blake2b(str(tx.block_height).encode()).hexdigest()[:64],
                    "block_height": tx.block_height,
                    "block_time": 1_700_000_000,
                    "slot": 100_000_000,
                    "index": 1,
                    "output_amount": [{"unit": "lovelace", "quantity": str(total)}],
                    "fees": "182485",
                    "deposit": "0",
                    "size": 433,
                    "invalid_before": None,
                    "invalid_hereafter": "13885913",
                    "utxo_count": len(tx.outputs) + 1,
                    "withdrawal_count": 0,
                    "mir_cert_count": 0,
                    "delegation_count": 0,
                    "stake_cert_count": 0,
                    "pool_update_count": 0,
                    "pool_retire_count": 0,
                    "asset_mint_or_burn_count": 0,
                    "redeemer_count": 0,
                    "valid_contract": tx.valid_contract,
                },
            )
        if parts[2:] == ["utxos"]:
            return Answer(
                200,
                {
                    "hash": parts[1],
                    "inputs": [],
                    "outputs": [
                        {
                            "address": address,
                            "amount": [{"unit": "lovelace", "quantity": str(amount)}],
                            "output_index": index,
                            "data_hash": None,
                            "inline_datum": None,
                            "collateral": False,
                            "reference_script_hash": None,
                            "consumed_by_tx": None,
                        }
                        for index, (address, amount) in enumerate(tx.outputs)
                    ],
                },
            )
        return Answer(404, NOT_FOUND)

    def _latest(self, request: Request) -> Answer:
        if refused := self._refused(request):
            return refused
        return Answer(
            200,
            {
                "time": 1_700_000_000,
                "height": self.ledger.tip_height,
                "hash": "4ea1ba291e8eef538635a53e59fddba7810d1679631cc3aed7c8e6c4091a516a",
                "slot": 100_000_000,
                "epoch": 512,
                "epoch_slot": 12,
                "slot_leader": "pool1pu5jlj4q9w9jlxeu370a3c9myx47md5j5m2str0naunn2q3lkdy",
                "size": 3,
                "tx_count": 1,
                "output": "128314491794",
                "fees": "592661",
                "block_vrf": "vrf_vk1wf2k6lhujezqcfe00l6zetxpnmh9n6mwhpmhm0dvfh3fxgmdnrfqkms8ty",
                "op_cert": None,
                "op_cert_counter": None,
                "previous_block": None,
                "next_block": None,
                "confirmations": 0,
            },
        )


class KoiosTxRemote:
    PREFIX = "/api/v1"

    def __init__(self, server: LocalHttpServer, ledger: Ledger) -> None:
        self.ledger = ledger
        server.route(f"{self.PREFIX}/tx_info", self._tx_info)
        server.route(f"{self.PREFIX}/tip", self._tip)
        self.url = f"{server.url}{self.PREFIX}"

    def _tx_info(self, request: Request) -> Answer:
        body = request.body if isinstance(request.body, dict) else {}
        hashes = body.get("_tx_hashes")
        if request.method != "POST" or not isinstance(hashes, list):
            return Answer(
                400,
                {
                    "code": "PGRST102",
                    "details": None,
                    "hint": None,
                    "message": "Empty or invalid json",
                },
            )
        return Answer(
            200, [self._info(h, self.ledger.txs[h]) for h in hashes if h in self.ledger.txs]
        )

    def _info(self, hash_: str, tx: Tx) -> dict:
        return {
            "tx_hash": hash_,
            "block_hash": hashlib.blake2b(str(tx.block_height).encode()).hexdigest()[:64],
            "block_height": tx.block_height,
            "epoch_no": 512,
            "epoch_slot": 12,
            "absolute_slot": 100_000_000,
            "tx_timestamp": 1_700_000_000,
            "tx_block_index": 1,
            "tx_size": 433,
            "total_output": str(sum(amount for _, amount in tx.outputs)),
            "fee": "182485",
            "treasury_deposit": "0",
            "deposit": "0",
            "invalid_before": None,
            "invalid_after": None,
            "collateral_inputs": None,
            "collateral_output": None,
            "reference_inputs": None,
            "inputs": None,
            "outputs": [
                {
                    "payment_addr": {"bech32": address, "cred": "ab" * 28},
                    "stake_addr": None,
                    "tx_hash": hash_,
                    "tx_index": index,
                    "value": str(amount),
                    "datum_hash": None,
                    "inline_datum": None,
                    "reference_script": None,
                    "asset_list": None,
                }
                for index, (address, amount) in enumerate(tx.outputs)
            ],
            "withdrawals": None,
            "assets_minted": None,
            "metadata": None,
            "certificates": None,
            "native_scripts": None,
            "plutus_contracts": None,
        }

    def _tip(self, request: Request) -> Answer:
        return Answer(
            200,
            [
                {
                    "hash": "4d44c8a453e677f933c3df42ebcf2fe45987c41268b9cfc9b42ae305e8c3d99a",
                    "epoch_no": 512,
                    "abs_slot": 100_000_000,
                    "epoch_slot": 12,
                    "block_height": self.ledger.tip_height,
                    "block_time": 1_700_000_000,
                }
            ],
        )
