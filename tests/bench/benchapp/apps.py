from django.apps import AppConfig


class BenchappConfig(AppConfig):
    name = "tests.bench.benchapp"
    label = "benchapp"
    default_auto_field = "django.db.models.BigAutoField"
