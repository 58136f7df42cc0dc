"""Everything that talks to NATS JetStream; no module outside this package imports nats.

- `connection`: connect failing fast, and throwing away a connection that hung.
- `streams`: the streams every service declares, and making the server match them.
- `publisher`: the relay's publisher, usable from synchronous code.
- `pull`: the consumer runner's pull requests, and reading a stream whole for a rebuild.
"""
