"""voting_service settings: ballots and tallies, over replicas of voters, polls and causes."""

from pathlib import Path

from shared_events.kit.service_settings import configure

BASE_DIR = Path(__file__).resolve().parent.parent

configure(
    globals(),
    service="voting",
    base_dir=BASE_DIR,
    apps=["voting"],
    produces=("voting",),
    extra_beat_schedule={
        # Tallies reach polls_service about once a second, not one event per ballot; a tick
        # that waited longer than a few seconds is dropped, the next one does the same work.
        "voting-refresh-tallies": {
            "task": "voting.refresh_tallies",
            "schedule": 1.0,
            "options": {"expires": 5},
        },
    },
    api_description="Your ballots and the tallies. Eligibility and voting power come from this "
    "service's replica of your account, kept current by events from accounts_service.",
)

# Operator rights follow the replica of accounts, not the token's role claim
# (shared_events/kit/identity/standing.py).
ACCOUNT_STANDING = "voting.selectors.replicas.account_standing"
