"""The events core: schemas, outbox and relay, consumers, the NATS transport, and the Django app
(label `shared_events`) that holds their tables. It never imports the kit."""
