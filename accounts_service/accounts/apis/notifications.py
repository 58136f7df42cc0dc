"""Email notifications: a delegator's choices per kind, confirming the address they go to, and
the one-click unsubscribe link of every message (no sign-in: the link is signed)."""

from __future__ import annotations

from django.http import HttpResponse
from django.template.loader import render_to_string
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from shared_events.kit.api import StrictFieldsMixin
from shared_events.kit.identity.authentication import AnonymousWithBearerChallenge
from shared_events.kit.parsers import BoundedJSONParser

from ..models import Account, NoticeKind, NotificationSettings
from ..services import notification_settings as services

_DETAIL = inline_serializer("NotificationRefusal", {"detail": serializers.CharField()})


def _conflict(why: str) -> OpenApiResponse:
    return OpenApiResponse(_DETAIL, description=why)


class ConfirmEmailThrottle(UserRateThrottle):
    scope = "confirm_email"


class NotificationSettingsOutput(serializers.Serializer):
    poll_opened = serializers.BooleanField(help_text=NoticeKind.POLL_OPENED.label)
    closing_soon = serializers.BooleanField(help_text=NoticeKind.CLOSING_SOON.label)
    results = serializers.BooleanField(help_text=NoticeKind.RESULTS.label)
    paid = serializers.BooleanField(help_text=NoticeKind.PAID.label)
    email = serializers.EmailField(allow_null=True, help_text="Your account's address.")
    email_confirmed = serializers.BooleanField(
        help_text="Whether that address is confirmed; nothing is sent until it is."
    )
    confirmed_at = serializers.DateTimeField(allow_null=True)


def _output(account: Account, settings: NotificationSettings) -> dict:
    confirmed = services.email_confirmed(account=account, settings=settings)
    return NotificationSettingsOutput(
        {
            **{kind: getattr(settings, kind) for kind in services.KINDS},
            "email": account.email,
            "email_confirmed": confirmed,
            "confirmed_at": settings.confirmed_at if confirmed else None,
        }
    ).data


class NotificationSettingsApi(APIView):
    class SettingsInput(StrictFieldsMixin, serializers.Serializer):
        poll_opened = serializers.BooleanField(required=False)
        closing_soon = serializers.BooleanField(required=False)
        results = serializers.BooleanField(required=False)
        paid = serializers.BooleanField(required=False)
        email = serializers.EmailField(read_only=True)
        email_confirmed = serializers.BooleanField(read_only=True)
        confirmed_at = serializers.DateTimeField(read_only=True)

    @extend_schema(responses={200: NotificationSettingsOutput}, summary="My notification choices")
    def get(self, request: Request) -> Response:
        settings = services.notification_settings_of(account=request.user)
        return Response(_output(request.user, settings))

    @extend_schema(
        request=SettingsInput,
        responses={
            200: NotificationSettingsOutput,
            409: _conflict("Opting in before the address is confirmed."),
        },
        summary="Opt in or out per kind (opting in needs a confirmed address)",
    )
    def patch(self, request: Request) -> Response:
        serializer = self.SettingsInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        settings = services.notification_settings_update(
            account=request.user, **serializer.validated_data
        )
        return Response(_output(request.user, settings))


class ConfirmEmailRequestApi(APIView):
    throttle_classes = [ConfirmEmailThrottle]

    @extend_schema(
        request=None,
        responses={
            202: inline_serializer("ConfirmationSent", {"sent_to": serializers.EmailField()}),
            409: _conflict("The account has no email address."),
        },
        summary="Send a link that confirms my email address for notifications",
    )
    def post(self, request: Request) -> Response:
        email = services.email_confirmation_request(account=request.user)
        return Response({"sent_to": email}, status=status.HTTP_202_ACCEPTED)


class ConfirmEmailApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = [AnonymousWithBearerChallenge]

    @extend_schema(
        parameters=[
            OpenApiParameter("token", str, required=True, description="From the emailed link.")
        ],
        responses={
            200: inline_serializer(
                "EmailConfirmed",
                {"email": serializers.EmailField(), "confirmed_at": serializers.DateTimeField()},
            ),
            409: _conflict(
                "The link was altered or has expired, or the account's address changed since."
            ),
        },
        auth=[],
        summary="Confirm an email address (the emailed link; no sign-in needed)",
    )
    def get(self, request: Request) -> Response:
        token = request.query_params.get("token", "")
        if not token or len(token) > 1000:
            raise serializers.ValidationError({"token": ["Give the token of the emailed link."]})
        settings = services.email_confirm(token=token)
        return Response({"email": settings.confirmed_email, "confirmed_at": settings.confirmed_at})


class UnsubscribeApi(APIView):
    """RFC 8058: mail clients POST `List-Unsubscribe=One-Click` to the message's
    List-Unsubscribe address, without a session; the signed token says who and which kind.
    A GET (the link in the body, or a link checker) only shows a page with the button."""

    permission_classes = [AllowAny]
    authentication_classes = [AnonymousWithBearerChallenge]
    parser_classes = [FormParser, MultiPartParser, BoundedJSONParser]

    @extend_schema(
        request=None,
        responses={
            200: inline_serializer(
                "Unsubscribed",
                {
                    "kind": serializers.ChoiceField(choices=NoticeKind.choices),
                    "detail": serializers.CharField(),
                },
            ),
            409: _conflict("The link was altered, or its account is gone."),
        },
        auth=[],
        summary="One-click unsubscribe from one kind of notification (RFC 8058)",
    )
    def post(self, request: Request, token: str) -> Response:
        _account, kind = services.notifications_unsubscribe(token=token)
        return Response({"kind": kind, "detail": f"Unsubscribed from: {NoticeKind(kind).label}."})

    @extend_schema(
        responses={(200, "text/html"): OpenApiTypes.STR},
        auth=[],
        summary="The unsubscribe page (its button POSTs here)",
    )
    def get(self, request: Request, token: str) -> HttpResponse:
        return HttpResponse(
            render_to_string("accounts/notifications/unsubscribe_page.html", {"token": token})
        )
