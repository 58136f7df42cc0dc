"""voting_service settings: ballots and tallies, over replicas of voters, polls and causes."""

from pathlib import Path

from shared_events.service_settings import configure

BASE_DIR = Path(__file__).resolve().parent.parent

configure(
    globals(),
    service="voting",
    base_dir=BASE_DIR,
    apps=["voting"],
    produces=("voting",),
    api_description="Your ballots and the tallies. Eligibility and voting power come from this "
    "service's replica of your account, kept current by events from accounts_service.",
)
