"""A CIP-30 wallet for tests: a real Ed25519 stake key whose `sign_data` returns what a browser
wallet's `signData(rewardAddress, payloadHex)` does, a CIP-8 COSE_Sign1 made by pycardano and
its COSE_Key, both hex CBOR."""

from __future__ import annotations

from dataclasses import dataclass, field

from pycardano import Address, Network, StakeSigningKey
from pycardano.cip import cip8


@dataclass
class Wallet:
    network: Network = Network.MAINNET
    signing_key: StakeSigningKey = field(default_factory=StakeSigningKey.generate)

    @property
    def stake_address(self) -> str:
        key_hash = self.signing_key.to_verification_key().hash()
        return str(Address(staking_part=key_hash, network=self.network))

    def sign_data(self, payload_hex: str) -> dict[str, str]:
        message = bytes.fromhex(payload_hex).decode("utf-8")
        return cip8.sign(message, self.signing_key, attach_cose_key=True, network=self.network)
