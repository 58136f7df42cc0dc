"""What the accounts service knows about the Cardano chain: proofs of stake addresses."""
