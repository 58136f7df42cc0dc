"""Consumer side: apply other services' events to local read models, idempotently."""
