import pytest


@pytest.fixture(autouse=True)
def _outbox_complete():
    """The chain modules touch no database: no outbox to check, and no database to set up."""
