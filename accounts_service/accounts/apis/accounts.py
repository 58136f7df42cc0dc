"""Operators manage accounts: list, read, activate or deactivate, change roles, adjust points.
The account and ledger entry outputs are the ones every accounts answer uses."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_events.kit.api import StrictFieldsMixin
from shared_events.kit.identity.permissions import IsOperator
from shared_events.kit.pagination import LimitOffsetPagination

from .. import selectors, services
from ..models import Account, LedgerEntry, Role


class AccountOutput(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = [
            "id",
            "email",
            "role",
            "stake_address",
            "stake_address_verified_at",
            "points",
            "is_active",
            "date_joined",
        ]
        read_only_fields = fields


class StakeAddressClearField(serializers.CharField):
    """`stake_address` in a body that may only clear it: a proof of the key sets one
    (apis/wallet.py)."""

    default_error_messages = {
        "unproven": "A stake address is set only by a proof that you hold its key: POST "
        "me/stake-address/challenge/ (signed in), sign its payload_hex with the stake "
        "key, and send the signature to me/stake-address/verify/.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "help_text",
            'Only null or "" (none; in PATCH me/, unlink mine): a '
            "proof sets one, me/stake-address/challenge/.",
        )
        super().__init__(
            max_length=120, required=False, allow_null=True, allow_blank=True, **kwargs
        )

    def to_internal_value(self, data):
        super().to_internal_value(data)
        self.fail("unproven")  # null and "" never get here: they mean "none"


class LedgerEntryOutput(serializers.ModelSerializer):
    class Meta:
        model = LedgerEntry
        fields = ["id", "kind", "delta", "balance_after", "epoch", "reason", "created_at"]
        read_only_fields = fields


class AccountListApi(APIView):
    # Declared, not just used: the OpenAPI schema then shows the page and limit/offset.
    pagination_class = LimitOffsetPagination

    permission_classes = [IsAuthenticated, IsOperator]

    @extend_schema(
        parameters=[
            OpenApiParameter("role", enum=Role.values),
            OpenApiParameter("is_active", bool),
            OpenApiParameter("search", str),
        ],
        responses={200: AccountOutput(many=True)},
        summary="Accounts (operators)",
    )
    def get(self, request: Request) -> Response:
        is_active = request.query_params.get("is_active")
        if is_active not in (None, "true", "false"):
            raise serializers.ValidationError({"is_active": ["Use true or false."]})
        role = request.query_params.get("role")
        if role not in (None, *Role.values):
            raise serializers.ValidationError({"role": [f"Use one of {', '.join(Role.values)}."]})
        qs = selectors.account_list(
            role=role,
            search=request.query_params.get("search"),
            is_active=None if is_active is None else is_active == "true",
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(AccountOutput(page, many=True).data)


class AccountDetailApi(APIView):
    permission_classes = [IsAuthenticated, IsOperator]

    class AccountUpdateInput(StrictFieldsMixin, serializers.Serializer):
        is_active = serializers.BooleanField(required=False)
        role = serializers.ChoiceField(choices=Role.choices, required=False)

    @extend_schema(responses={200: AccountOutput}, summary="One account (operators)")
    def get(self, request: Request, account_id) -> Response:
        return Response(AccountOutput(selectors.account_get(account_id=account_id)).data)

    @extend_schema(
        request=AccountUpdateInput,
        responses={200: AccountOutput},
        summary="Activate, deactivate or change the role of an account (operators)",
    )
    def patch(self, request: Request, account_id) -> Response:
        account = selectors.account_get(account_id=account_id)
        serializer = self.AccountUpdateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = services.account_change_standing(
            account=account, by=request.user, **serializer.validated_data
        )
        return Response(AccountOutput(account).data)


class AccountPointsApi(APIView):
    permission_classes = [IsAuthenticated, IsOperator]

    class PointsAdjustmentInput(StrictFieldsMixin, serializers.Serializer):
        delta = serializers.IntegerField(min_value=-(10**15), max_value=10**15)
        reason = serializers.CharField(max_length=500)

    @extend_schema(
        request=PointsAdjustmentInput,
        responses={201: LedgerEntryOutput},
        summary="Adjust an account's points with a ledger entry (operators)",
    )
    def post(self, request: Request, account_id) -> Response:
        account = selectors.account_get(account_id=account_id)
        serializer = self.PointsAdjustmentInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = services.points_adjust(
            account=account, by=request.user, **serializer.validated_data
        )
        return Response(LedgerEntryOutput(entry).data, status=status.HTTP_201_CREATED)
