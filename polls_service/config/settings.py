"""polls_service settings: funding rounds and causes, results and payouts."""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from shared_events.kit.chain_clients.settings import chain_client_settings
from shared_events.kit.service_settings import configure, env, env_count

BASE_DIR = Path(__file__).resolve().parent.parent

configure(
    globals(),
    service="polls",
    base_dir=BASE_DIR,
    apps=["polls"],
    produces=("polls",),
    extra_beat_schedule={
        # Opens and closes polls on time: at most about a second late; a run that waited more
        # than 5 s in the queue is dropped, the next one does its work.
        "polls-open-and-close-due": {
            "task": "polls.open_and_close_due",
            "schedule": 1.0,
            "options": {"expires": 5},
        },
        # Checks pending payout transactions on chain (polls/services/payouts.py).
        "polls-check-payouts": {
            "task": "polls.check_payouts",
            "schedule": float(env("PAYOUT_CHECK_INTERVAL_SECONDS", "60")),
            "options": {"expires": 30},
        },
    },
    metrics_scrape_time=("polls.metrics_scrape.refresh",),
    api_description="Funding rounds (polls) and the causes they fund; results and payouts. "
    "Delegators read; operators create and change.",
)

# Operator rights follow the replica of accounts, not the token's role claim
# (shared_events/kit/identity/standing.py).
ACCOUNT_STANDING = "polls.selectors.accounts.account_standing"
# How far ahead an operator's close/ sets closes_at: time for voting to hear of it first, so
# the close takes effect where ballots are accepted at the moment polls shows.
POLL_CLOSE_GRACE_SECONDS = float(env("POLL_CLOSE_GRACE_SECONDS", "5"))

# Payouts on chain (polls/services/payouts.py). The chain source is CHAIN_SOURCE's (blockfrost or
# koios verify on chain; file or none: the operator confirms by hand), with accounts' settings.
chain_client_settings(globals())
# A payout transaction counts once this many blocks hold it (its own included).
PAYOUT_CONFIRMATIONS = env_count("PAYOUT_CONFIRMATIONS", 10)
if PAYOUT_CONFIRMATIONS < 1:
    raise ImproperlyConfigured("PAYOUT_CONFIRMATIONS must be at least 1")
# A transaction not confirmed this long after it was recorded is shown as never confirmed.
PAYOUT_GIVE_UP_SECONDS = env_count("PAYOUT_GIVE_UP_SECONDS", 24 * 3600)
# A link to a transaction: "{tx_hash}" is replaced; set but empty: no link.
_EXPLORERS = {
    "mainnet": "https://cardanoscan.io/transaction/{tx_hash}",
    "preprod": "https://preprod.cardanoscan.io/transaction/{tx_hash}",
    "preview": "https://preview.cardanoscan.io/transaction/{tx_hash}",
}
PAYOUT_EXPLORER_URL = os.environ.get(
    "PAYOUT_EXPLORER_URL",
    _EXPLORERS[CARDANO_NETWORK],  # noqa: F821 (set by chain_client_settings)
).strip()
if PAYOUT_EXPLORER_URL and "{tx_hash}" not in PAYOUT_EXPLORER_URL:
    raise ImproperlyConfigured(
        f"PAYOUT_EXPLORER_URL={PAYOUT_EXPLORER_URL!r} has no {{tx_hash}} to put the hash in"
    )
