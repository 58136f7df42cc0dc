"""The accounts API. Views validate input, call a service or selector, and shape the output."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_events.kit.api import StrictFieldsMixin
from shared_events.kit.identity.authentication import AnonymousWithBearerChallenge
from shared_events.kit.identity.permissions import IsOperator
from shared_events.kit.identity.tokens import InvalidToken
from shared_events.kit.pagination import LimitOffsetPagination

from . import selectors, services, tokens
from .models import Account, LedgerEntry, Role
from .throttles import LoginAddressThrottle, LoginEmailThrottle, RegisterThrottle


class AccountOutput(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = ["id", "email", "role", "stake_address", "points", "is_active", "date_joined"]
        read_only_fields = fields


class LedgerEntryOutput(serializers.ModelSerializer):
    class Meta:
        model = LedgerEntry
        fields = ["id", "kind", "delta", "balance_after", "epoch", "reason", "created_at"]
        read_only_fields = fields


TokenPairOutput = inline_serializer("TokenPair", {
    "access": serializers.CharField(), "refresh": serializers.CharField(),
    "token_type": serializers.CharField(), "access_expires_at": serializers.IntegerField(),
    "refresh_expires_at": serializers.IntegerField()})


class RegisterApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = [AnonymousWithBearerChallenge]
    throttle_classes = [RegisterThrottle]

    class RegisterInput(StrictFieldsMixin, serializers.Serializer):
        email = serializers.CharField(max_length=254)
        password = serializers.CharField(max_length=128, write_only=True,
                                         style={"input_type": "password"})
        stake_address = serializers.CharField(max_length=120, required=False, allow_null=True,
                                              allow_blank=True)

    @extend_schema(request=RegisterInput, responses={201: AccountOutput}, auth=[],
                   summary="Register a delegator")
    def post(self, request: Request) -> Response:
        data = self._validated(request)
        account = services.account_register(**data)
        return Response(AccountOutput(account).data, status=status.HTTP_201_CREATED)

    def _validated(self, request: Request) -> dict:
        serializer = self.RegisterInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


class TokenObtainApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = [AnonymousWithBearerChallenge]
    throttle_classes = [LoginAddressThrottle, LoginEmailThrottle]

    class SignInInput(StrictFieldsMixin, serializers.Serializer):
        email = serializers.CharField(max_length=254)
        password = serializers.CharField(max_length=128, style={"input_type": "password"})

    @extend_schema(request=SignInInput, responses={200: TokenPairOutput}, auth=[],
                   summary="Sign in: a JWT access/refresh pair")
    def post(self, request: Request) -> Response:
        serializer = self.SignInInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        # Django's ModelBackend, as the sign-in forms use it: every refusal (no such email, a
        # deactivated account, a wrong or unusable password) costs one password hash, as a
        # success does, so the answer's timing does not tell which emails have an account.
        account = authenticate(request, username=serializer.validated_data["email"].lower(),
                               password=serializer.validated_data["password"])
        if account is None:
            raise exceptions.AuthenticationFailed("No active account with these credentials.")
        update_last_login(None, account)
        return Response(tokens.token_pair_issue(account=account))


class TokenRefreshApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = [AnonymousWithBearerChallenge]

    class RefreshInput(StrictFieldsMixin, serializers.Serializer):
        refresh = serializers.CharField()

    @extend_schema(request=RefreshInput, responses={200: TokenPairOutput}, auth=[],
                   summary="Exchange a refresh token for a new pair (the old one is revoked)")
    def post(self, request: Request) -> Response:
        serializer = self.RefreshInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            pair = tokens.token_refresh(refresh=serializer.validated_data["refresh"])
        except InvalidToken as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        return Response(pair)


class LogoutApi(APIView):
    class LogoutInput(StrictFieldsMixin, serializers.Serializer):
        refresh = serializers.CharField()

    @extend_schema(request=LogoutInput, responses={204: None},
                   summary="Sign out: revoke this refresh token")
    def post(self, request: Request) -> Response:
        serializer = self.LogoutInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            tokens.token_revoke(refresh=serializer.validated_data["refresh"],
                                account=request.user)
        except InvalidToken as exc:
            raise serializers.ValidationError({"refresh": [str(exc)]}) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    class ProfileUpdateInput(StrictFieldsMixin, serializers.Serializer):
        email = serializers.CharField(max_length=254, required=False)
        stake_address = serializers.CharField(max_length=120, required=False, allow_null=True,
                                              allow_blank=True)
        password = serializers.CharField(max_length=128, required=False, write_only=True)
        current_password = serializers.CharField(max_length=128, required=False,
                                                 write_only=True)

        def validate(self, attrs):
            if "password" in attrs and "current_password" not in attrs:
                raise serializers.ValidationError(
                    {"current_password": ["Give your current password to set a new one."]})
            return attrs

        # Read-only fields of the account, so sending them says "read-only", not "unknown".
        id = serializers.UUIDField(read_only=True)
        role = serializers.CharField(read_only=True)
        points = serializers.IntegerField(read_only=True)
        is_active = serializers.BooleanField(read_only=True)
        date_joined = serializers.DateTimeField(read_only=True)

    @extend_schema(responses={200: AccountOutput}, summary="My account")
    def get(self, request: Request) -> Response:
        return Response(AccountOutput(request.user).data)

    @extend_schema(request=ProfileUpdateInput, responses={200: AccountOutput},
                   summary="Change my email, stake address or password")
    def patch(self, request: Request) -> Response:
        serializer = self.ProfileUpdateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        account = request.user
        if "password" in data:
            account = services.account_change_password(account=account,
                                    current_password=data.pop("current_password"),
                                    new_password=data.pop("password"))
        data.pop("current_password", None)
        if data:
            account = services.account_update_profile(account=account, **data)
        return Response(AccountOutput(account).data)


class MeLedgerApi(APIView):
    # Declared, not just used: the OpenAPI schema then shows the page and limit/offset.
    pagination_class = LimitOffsetPagination

    @extend_schema(responses={200: LedgerEntryOutput(many=True)},
                   summary="My points ledger, newest first")
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.ledger_for(account=request.user), request,
                                           view=self)
        return paginator.get_paginated_response(LedgerEntryOutput(page, many=True).data)


class AccountListApi(APIView):
    # Declared, not just used: the OpenAPI schema then shows the page and limit/offset.
    pagination_class = LimitOffsetPagination

    permission_classes = [IsAuthenticated, IsOperator]

    @extend_schema(
        parameters=[OpenApiParameter("role", enum=Role.values), OpenApiParameter("is_active",
                    bool), OpenApiParameter("search", str)],
        responses={200: AccountOutput(many=True)}, summary="Accounts (operators)")
    def get(self, request: Request) -> Response:
        is_active = request.query_params.get("is_active")
        if is_active not in (None, "true", "false"):
            raise serializers.ValidationError({"is_active": ["Use true or false."]})
        role = request.query_params.get("role")
        if role not in (None, *Role.values):
            raise serializers.ValidationError({"role": [f"Use one of {', '.join(Role.values)}."]})
        qs = selectors.account_list(role=role, search=request.query_params.get("search"),
                                    is_active=None if is_active is None else is_active == "true")
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
        return Response(AccountOutput(get_object_or_404(Account, pk=account_id)).data)

    @extend_schema(request=AccountUpdateInput, responses={200: AccountOutput},
                   summary="Activate, deactivate or change the role of an account (operators)")
    def patch(self, request: Request, account_id) -> Response:
        account = get_object_or_404(Account, pk=account_id)
        serializer = self.AccountUpdateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if account.pk == request.user.pk and (data.get("is_active") is False or
                                              data.get("role", Role.OPERATOR) != Role.OPERATOR):
            raise serializers.ValidationError(
                {"non_field_errors": ["Operators cannot demote or deactivate themselves."]})
        if "is_active" in data:
            account = services.account_set_active(account=account, is_active=data["is_active"])
        if "role" in data:
            account = services.account_set_role(account=account, role=data["role"])
        return Response(AccountOutput(account).data)


class AccountPointsApi(APIView):
    permission_classes = [IsAuthenticated, IsOperator]

    class PointsAdjustmentInput(StrictFieldsMixin, serializers.Serializer):
        delta = serializers.IntegerField(min_value=-(10**15), max_value=10**15)
        reason = serializers.CharField(max_length=500)

    @extend_schema(request=PointsAdjustmentInput, responses={201: LedgerEntryOutput},
                   summary="Adjust an account's points with a ledger entry (operators)")
    def post(self, request: Request, account_id) -> Response:
        account = get_object_or_404(Account, pk=account_id)
        serializer = self.PointsAdjustmentInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = services.points_adjust(account=account, by=request.user,
                              **serializer.validated_data)
        return Response(LedgerEntryOutput(entry).data, status=status.HTTP_201_CREATED)
