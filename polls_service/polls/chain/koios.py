"""Payout transactions through Koios: `POST tx_info` with `_tx_hashes` (an empty array when it
does not know the transaction; each output's address at `payment_addr.bech32`, its lovelace in
`value`, a string) and `tip` (the tip's `block_height`)."""

from __future__ import annotations

from shared_events.kit.chain_clients.errors import ChainSourceInvalidAnswer
from shared_events.kit.chain_clients.koios import KoiosClient
from shared_events.kit.chain_clients.retry import RetryPolicy

from .seen import TxSeen, confirmations, lovelace_by_address

# Only the outputs are needed: the rest of tx_info is left out of the answer.
_LEAN = {
    "_inputs": False,
    "_metadata": False,
    "_assets": False,
    "_withdrawals": False,
    "_certs": False,
    "_scripts": False,
    "_bytecode": False,
}


class KoiosTxLookup:
    name = "koios"

    def __init__(self, *, api_url: str, token: str | None, policy: RetryPolicy) -> None:
        self._client = KoiosClient(api_url=api_url, token=token, policy=policy)

    def transaction(self, tx_hash: str) -> TxSeen | None:
        what = f"Koios tx_info {tx_hash}"
        answer = self._client.post(what, "tx_info", {"_tx_hashes": [tx_hash], **_LEAN})
        if not isinstance(answer, list):
            raise ChainSourceInvalidAnswer(f"{what}: expected a JSON array")
        mine = [tx for tx in answer if isinstance(tx, dict) and tx.get("tx_hash") == tx_hash]
        if not mine:
            return None
        tx = mine[0]
        tip, _ = self._client.get("Koios tip", "tip", {})
        if not isinstance(tip, list) or len(tip) != 1 or not isinstance(tip[0], dict):
            raise ChainSourceInvalidAnswer("Koios tip: expected one block")
        height = tip[0].get("block_height", tip[0].get("block_no"))
        depth = confirmations(tip_height=height, tx_height=tx.get("block_height"), what=what)
        outputs = tx.get("outputs")
        if not isinstance(outputs, list):
            raise ChainSourceInvalidAnswer(f"{what}: expected outputs")
        pairs = []
        for output in outputs:
            address = output.get("payment_addr") if isinstance(output, dict) else None
            if not isinstance(address, dict):
                raise ChainSourceInvalidAnswer(f"{what}: an output without payment_addr")
            pairs.append((address.get("bech32"), output.get("value")))
        return TxSeen(confirmations=depth, paid=lovelace_by_address(pairs, what=what))
