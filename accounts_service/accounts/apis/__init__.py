"""The accounts_service API. Views validate input, call a service or selector, and shape the
output; one module per audience: `auth` (anyone), `me` (the signed-in account), `accounts`
(operators), and `wallet`, the proofs of stake addresses (linking one to my account, and
signing in with one)."""
