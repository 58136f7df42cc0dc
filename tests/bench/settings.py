"""A service's settings under the bench (DJANGO_SETTINGS_MODULE, set by infra.BenchPlatform):
its own, plus the bench's app, whose ceiling endpoint the ballot benchmark measures."""

from config.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.bench.benchapp"]  # noqa: F405
ROOT_URLCONF = "tests.bench.benchapp.urls"
