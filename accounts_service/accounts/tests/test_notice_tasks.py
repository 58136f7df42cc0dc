"""The send task's rate and retries come from the settings the README names."""

from accounts import tasks


def test_the_send_rate_is_celery_s_rate_limit_per_batch(settings):
    per_batch = settings.NOTIFY_EMAILS_PER_MINUTE / settings.NOTIFY_BATCH_SIZE
    assert tasks.notices_send_task.rate_limit == f"{per_batch:g}/m"
    assert tasks.notices_send_task.max_retries == settings.NOTIFY_SEND_ATTEMPTS - 1


def test_retries_back_off_exponentially_up_to_ten_minutes():
    delays = [tasks._backoff(n) for n in range(8)]
    assert all(10 * 2**n <= d <= 10 * 2**n + 5 for n, d in enumerate(delays[:5]))
    assert all(600 <= d <= 605 for d in delays[6:])
