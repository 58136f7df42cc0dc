"""The URL layout every service shares: everything under its own prefix."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import health
from .identity import (
    admin_sso,
    browser,
    openapi,  # noqa: F401  (registers the docs' auth scheme)
)


class ApiRoot(APIView):
    """The endpoints of this service's API (the others are linked in the page header)."""

    permission_classes = [AllowAny]
    links: dict[str, str] = {}

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response({name: request.build_absolute_uri(url) for name, url in self.links.items()})


def _links(prefix: str, patterns: list[URLPattern | URLResolver]) -> dict[str, str]:
    """Every parameterless route, by name: what one can open without knowing an id."""
    links = {}
    for pattern in patterns:
        route = str(pattern.pattern)
        if isinstance(pattern, URLPattern) and "<" not in route and pattern.name:
            links[pattern.name] = f"/{prefix}api/{route}"
    links["schema"] = f"/{prefix}api/schema/"
    links["docs"] = f"/{prefix}api/docs/"
    return links


def service_urlpatterns(
    api_patterns: list[URLPattern | URLResolver],
    site_patterns: list[URLPattern | URLResolver] | None = None,
    browser_auth_patterns: list[URLPattern | URLResolver] | None = None,
) -> list[URLResolver]:
    """`browser_auth_patterns`: the browsable API's "login"/"logout" views (accounts has its
    own); by default they lead to accounts and back (identity/browser.py)."""
    prefix = settings.URL_PREFIX.strip("/") + "/"
    browser_auth = browser_auth_patterns or [
        path("login/", browser.login_redirect, name="login"),
        path("logout/", browser.logout_here, name="logout"),
    ]
    sso: list[URLPattern | URLResolver] = []
    if settings.ADMIN_SSO:
        # Before admin.site.urls, so the admin's own login page is never reached.
        sso = [
            path("admin/login/", admin_sso.sso_login_redirect, name="admin-sso-login"),
            path("admin/sso/", admin_sso.sso_callback, name="admin-sso-callback"),
        ]
    return [
        path(
            prefix,
            include(
                [
                    *sso,
                    path("admin/", admin.site.urls),
                    *(site_patterns or []),
                    path("health/live", health.live, name="health-live"),
                    path("health/ready", health.ready, name="health-ready"),
                    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
                    path(
                        "api/docs/",
                        SpectacularSwaggerView.as_view(url_name="schema"),
                        name="api-docs",
                    ),
                    path("api/auth/", include((browser_auth, "rest_framework"))),
                    path(
                        "api/", ApiRoot.as_view(links=_links(prefix, api_patterns)), name="api-root"
                    ),
                    path("api/", include(api_patterns)),
                ]
            ),
        )
    ]
