import pytest

from accounts.chain.sources.retry import RetryPolicy

from .local_http import LocalHttpServer

# Short waits so retries are tested for real in well under a second each.
FAST = RetryPolicy(attempts=4, first_delay=0.05, max_delay=5.0, timeout=5.0)


@pytest.fixture
def http_server():
    server = LocalHttpServer().start()
    yield server
    server.stop()
