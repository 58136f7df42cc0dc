from shared_events.core.celery_app import make_celery_app
from shared_events.kit.metrics_celery import record_celery_metrics

app = make_celery_app("accounts")
record_celery_metrics()
