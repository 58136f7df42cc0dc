from shared_events.celery_app import make_celery_app

app = make_celery_app("polls")
