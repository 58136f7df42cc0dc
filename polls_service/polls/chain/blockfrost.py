"""Payout transactions through Blockfrost: `txs/{hash}` (its block height; 404 when unknown),
`txs/{hash}/utxos` (the outputs, `amount` a list of `{unit, quantity}`, lovelace's unit being
"lovelace") and `blocks/latest` (the tip's height), with the SDK, as accounts reads stakes."""

from __future__ import annotations

from shared_events.kit.chain_clients.blockfrost import BlockfrostClient
from shared_events.kit.chain_clients.errors import ChainSourceInvalidAnswer
from shared_events.kit.chain_clients.retry import RetryPolicy

from .seen import TxSeen, confirmations, lovelace_by_address


class BlockfrostTxLookup:
    name = "blockfrost"

    def __init__(self, *, project_id: str, api_url: str, policy: RetryPolicy) -> None:
        self._client = BlockfrostClient(project_id=project_id, api_url=api_url, policy=policy)

    def transaction(self, tx_hash: str) -> TxSeen | None:
        api, call = self._client.api, self._client.call
        what = f"Blockfrost txs/{tx_hash}"
        tx = call(what, lambda: api.transaction(tx_hash, return_type="json"), not_found={})
        if tx == {}:
            return None
        if not isinstance(tx, dict) or tx.get("hash") != tx_hash:
            raise ChainSourceInvalidAnswer(f"{what}: not the transaction asked for")
        utxos = call(f"{what}/utxos", lambda: api.transaction_utxos(tx_hash, return_type="json"))
        tip = call("Blockfrost blocks/latest", lambda: api.block_latest(return_type="json"))
        if not isinstance(tip, dict):
            raise ChainSourceInvalidAnswer("Blockfrost blocks/latest: expected an object")
        depth = confirmations(
            tip_height=tip.get("height"), tx_height=tx.get("block_height"), what=what
        )
        if tx.get("valid_contract") is False:
            return TxSeen(confirmations=depth, paid={})  # its scripts failed: only collateral
        return TxSeen(confirmations=depth, paid=_paid(utxos, what=f"{what}/utxos"))


def _paid(utxos: object, *, what: str) -> dict[str, int]:
    outputs = utxos.get("outputs") if isinstance(utxos, dict) else None
    if not isinstance(outputs, list):
        raise ChainSourceInvalidAnswer(f"{what}: expected an object with outputs")
    pairs = []
    for output in outputs:
        if not isinstance(output, dict) or not isinstance(output.get("amount"), list):
            raise ChainSourceInvalidAnswer(f"{what}: an output without an amount")
        if output.get("collateral"):
            continue  # a collateral return, not a payment
        lovelace = [
            a.get("quantity")
            for a in output["amount"]
            if isinstance(a, dict) and a.get("unit") == "lovelace"
        ]
        pairs.append((output.get("address"), lovelace[0] if lovelace else 0))
    return lovelace_by_address(pairs, what=what)
