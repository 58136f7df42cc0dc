import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Each test starts with no sign-in or registration counted against it."""
    cache.clear()
