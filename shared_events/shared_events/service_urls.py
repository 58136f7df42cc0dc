"""The URL layout every service shares: everything under its own prefix."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import health


def service_urlpatterns(api_patterns: list[URLPattern | URLResolver]) -> list[URLResolver]:
    prefix = settings.URL_PREFIX.strip("/") + "/"
    return [
        path(
            prefix,
            include(
                [
                    path("admin/", admin.site.urls),
                    path("health/live", health.live, name="health-live"),
                    path("health/ready", health.ready, name="health-ready"),
                    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
                    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"),
                         name="api-docs"),
                    path("api/", include(api_patterns)),
                ]
            ),
        )
    ]
