"""polls_service settings: funding rounds and causes, results and payouts."""

from pathlib import Path

from shared_events.kit.service_settings import configure, env

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
    },
    api_description="Funding rounds (polls) and the causes they fund; results and payouts. "
    "Delegators read; operators create and change.",
)

# Operator rights follow the replica of accounts, not the token's role claim
# (shared_events/kit/identity/standing.py).
ACCOUNT_STANDING = "polls.selectors.accounts.account_standing"
# How far ahead an operator's close/ sets closes_at: time for voting to hear of it first, so
# the close takes effect where ballots are accepted at the moment polls shows.
POLL_CLOSE_GRACE_SECONDS = float(env("POLL_CLOSE_GRACE_SECONDS", "5"))
