"""Refuse requests whose URL carries a NUL character, before any view sees them.

PostgreSQL text cannot hold NUL, so `?search=%00` reaching a filter (the API's or the admin's
changelist `?q=`) fails in the database with a 500. Django's forms and DRF's fields already
refuse NUL in bodies; no path or query parameter of these services has a use for it either."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

NUL = "\x00"
MESSAGE = "The URL contains a NUL character (%00), which no parameter accepts."


class RefuseNulCharactersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if NUL in request.path or any(
            NUL in key or any(NUL in value for value in values)
            for key, values in request.GET.lists()
        ):
            if "/api/" in request.path:
                return JsonResponse({"detail": MESSAGE}, status=400)
            return HttpResponseBadRequest(MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
