"""The HTTP side of the platform's chain sources, shared by the services that read the chain
(accounts: the pool's stake distribution; polls: payout transactions):

- `errors`: what a client raises instead of an answer it cannot vouch for,
- `retry`: bounded retries with backoff and Retry-After,
- `blockfrost`: calls through the official blockfrost-python SDK, errors classified,
- `koios`: Koios' REST API over requests,
- `values`: checks of the values a source hands over (addresses, amounts, epochs),
- `settings`: the settings every such service reads (`CHAIN_SOURCE`'s companions),
- `testing`: a real local HTTP server the tests script as Blockfrost or Koios.

What each service asks of the chain stays in that service.
"""
