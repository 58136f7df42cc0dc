"""Template context every service's pages share: which service this is and where the others
are, for the browsable API's header."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

SERVICES = ("accounts", "polls", "voting")


def service_links(request: HttpRequest) -> dict[str, Any]:
    base = {s: settings.SERVICE_PUBLIC_URLS.get(s, "").rstrip("/") for s in SERVICES}
    return {
        "service_name": settings.SERVICE_NAME,
        "service_api_root": f"{base[settings.SERVICE_NAME]}/{settings.SERVICE_NAME}/api/",
        "service_links": [
            {"name": s, "url": f"{base[s]}/{s}/api/"}
            for s in SERVICES
            if s != settings.SERVICE_NAME
        ],
    }
