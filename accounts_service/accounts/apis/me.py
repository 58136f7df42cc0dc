"""The signed-in account: its profile and its points ledger."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_events.kit.api import StrictFieldsMixin
from shared_events.kit.pagination import LimitOffsetPagination

from .. import selectors, services
from .accounts import AccountOutput, LedgerEntryOutput, StakeAddressClearField


class MeApi(APIView):
    class ProfileUpdateInput(StrictFieldsMixin, serializers.Serializer):
        email = serializers.CharField(max_length=254, required=False)
        stake_address = StakeAddressClearField()
        password = serializers.CharField(max_length=128, required=False, write_only=True)
        current_password = serializers.CharField(
            max_length=128,
            required=False,
            write_only=True,
            help_text="needed with `password`, unless the account has no password yet (made by "
            "a wallet sign-in): then `password` sets its first one, given an email",
        )

        def validate(self, attrs):
            if "current_password" in attrs and "password" not in attrs:
                raise serializers.ValidationError(
                    {"password": ["Give the new password with current_password."]}
                )
            return attrs

        # Read-only fields of the account, so sending them says "read-only", not "unknown".
        id = serializers.UUIDField(read_only=True)
        role = serializers.CharField(read_only=True)
        points = serializers.IntegerField(read_only=True)
        is_active = serializers.BooleanField(read_only=True)
        date_joined = serializers.DateTimeField(read_only=True)
        stake_address_verified_at = serializers.DateTimeField(read_only=True)

    @extend_schema(responses={200: AccountOutput}, summary="My account")
    def get(self, request: Request) -> Response:
        return Response(AccountOutput(request.user).data)

    @extend_schema(
        request=ProfileUpdateInput,
        responses={200: AccountOutput},
        summary="Change my email or password (or set a first one), or unlink my stake address",
        description="A new `password` needs `current_password`, unless the account has none "
        "yet (one made by a wallet sign-in): then it needs an email, already or in the same "
        "request.",
    )
    def patch(self, request: Request) -> Response:
        serializer = self.ProfileUpdateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        account = request.user
        password = data.pop("password", None)
        current_password = data.pop("current_password", None)
        # All or nothing; the email first: a first password needs one to sign in with.
        with transaction.atomic():
            if "stake_address" in data:
                data.pop("stake_address")
                account = services.stake_address_unlink(account=account)
            if data:
                account = services.account_update_profile(account=account, **data)
            if password is not None:
                account = services.account_change_password(
                    account=account, current_password=current_password, new_password=password
                )
        return Response(AccountOutput(account).data)


class MeLedgerApi(APIView):
    # Declared, not just used: the OpenAPI schema then shows the page and limit/offset.
    pagination_class = LimitOffsetPagination

    @extend_schema(
        responses={200: LedgerEntryOutput(many=True)}, summary="My points ledger, newest first"
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.ledger_for(account=request.user), request, view=self
        )
        return paginator.get_paginated_response(LedgerEntryOutput(page, many=True).data)
