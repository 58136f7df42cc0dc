"""Events shared by the charity-vote services: schemas, the transactional outbox, its relay to
NATS JetStream, idempotent consumers, and the little each service needs in common to run
(settings, identity from accounts-issued JWTs, health checks).

See ARCHITECTURE.md next to this package for the guarantees and the gotchas.
"""
