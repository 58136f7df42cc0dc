"""The voting API, one module per concern: me as voting sees me (`voters`), my ballots
(`ballots`), their revisions and receipts (`receipts`), and the tallies (`tallies`). Views
validate input, call a service or selector, and shape the output."""
