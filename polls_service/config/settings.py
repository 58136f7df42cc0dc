"""polls_service settings: funding rounds and causes, results and payouts."""

from pathlib import Path

from shared_events.service_settings import configure

BASE_DIR = Path(__file__).resolve().parent.parent

configure(
    globals(),
    service="polls",
    base_dir=BASE_DIR,
    apps=["polls"],
    produces=("polls",),
    api_description="Funding rounds (polls) and the causes they fund; results and payouts. "
    "Delegators read; operators create and change.",
)
