"""Which mode runs (shared_events.kit.chain_mode) is said once when the web server starts and
on the admin's index: the open mode (`CHAIN_SOURCE=none`, or `OPEN_ELIGIBILITY=true`) lets
one person with many accounts vote many times. The checks are the same in every service."""

from shared_events.kit.chain_mode_checks import ChainModeChecks


class TestChainMode(ChainModeChecks):
    service = "polls"
