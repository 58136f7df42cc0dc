from shared_events.core.celery_app import make_celery_app

app = make_celery_app("polls")
