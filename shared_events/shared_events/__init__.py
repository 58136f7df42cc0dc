"""Shared by the charity-vote services, in two parts:

- `core`: the events. Schemas, the transactional outbox, its relay to NATS JetStream,
  idempotent consumers; the Django app (label `shared_events`) that holds their tables.
- `kit`: the platform kit. Settings, URLs, health checks, identity from accounts-issued JWTs,
  the API's helpers, charts, the admin's branding.

The kit may import the core; the core never imports the kit.
See ARCHITECTURE.md next to this package for the guarantees and the gotchas.
"""
