"""The service's own URLs, and the ceiling endpoint under its API: `<prefix>api/bench/insert/`."""

from django.conf import settings
from django.urls import path

from config import urls as service_urls

from .apis import BenchInsertApi

urlpatterns = [
    path(
        f"{settings.URL_PREFIX.strip('/')}/api/bench/insert/",
        BenchInsertApi.as_view(),
        name="bench-insert",
    ),
    *service_urls.urlpatterns,
]
handler404 = service_urls.handler404
handler500 = service_urls.handler500
