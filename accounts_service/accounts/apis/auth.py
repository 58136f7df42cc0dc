"""Registering, signing in with a password (a JWT pair), refreshing the pair and signing out."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_events.kit.api import StrictFieldsMixin
from shared_events.kit.identity.authentication import AnonymousWithBearerChallenge
from shared_events.kit.identity.tokens import InvalidToken

from .. import services
from ..throttles import LoginAddressThrottle, LoginEmailThrottle, RegisterThrottle
from .accounts import AccountOutput, StakeAddressClearField

TokenPairOutput = inline_serializer(
    "TokenPair",
    {
        "access": serializers.CharField(),
        "refresh": serializers.CharField(),
        "token_type": serializers.CharField(),
        "access_expires_at": serializers.IntegerField(),
        "refresh_expires_at": serializers.IntegerField(),
    },
)


class RegisterApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = [AnonymousWithBearerChallenge]
    throttle_classes = [RegisterThrottle]

    class RegisterInput(StrictFieldsMixin, serializers.Serializer):
        email = serializers.CharField(max_length=254)
        password = serializers.CharField(
            max_length=128, write_only=True, style={"input_type": "password"}
        )
        stake_address = StakeAddressClearField()

    @extend_schema(
        request=RegisterInput,
        responses={201: AccountOutput},
        auth=[],
        summary="Register a delegator",
    )
    def post(self, request: Request) -> Response:
        data = self._validated(request)
        data.pop("stake_address", None)  # none: a proof links one once registered
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

    @extend_schema(
        request=SignInInput,
        responses={200: TokenPairOutput},
        auth=[],
        summary="Sign in: a JWT access/refresh pair",
    )
    def post(self, request: Request) -> Response:
        serializer = self.SignInInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        # Django's ModelBackend, as the sign-in forms use it: every refusal (no such email, a
        # deactivated account, a wrong or unusable password) costs one password hash, as a
        # success does, so the answer's timing does not tell which emails have an account.
        account = authenticate(
            request,
            username=serializer.validated_data["email"].lower(),
            password=serializer.validated_data["password"],
        )
        if account is None:
            raise exceptions.AuthenticationFailed("No active account with these credentials.")
        return Response(services.token_pair_sign_in(account=account))


class TokenRefreshApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = [AnonymousWithBearerChallenge]

    class RefreshInput(StrictFieldsMixin, serializers.Serializer):
        refresh = serializers.CharField()

    @extend_schema(
        request=RefreshInput,
        responses={200: TokenPairOutput},
        auth=[],
        summary="Exchange a refresh token for a new pair (the old one is revoked)",
    )
    def post(self, request: Request) -> Response:
        serializer = self.RefreshInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            pair = services.token_refresh(refresh=serializer.validated_data["refresh"])
        except InvalidToken as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        return Response(pair)


class LogoutApi(APIView):
    class LogoutInput(StrictFieldsMixin, serializers.Serializer):
        refresh = serializers.CharField()

    @extend_schema(
        request=LogoutInput, responses={204: None}, summary="Sign out: revoke this refresh token"
    )
    def post(self, request: Request) -> Response:
        serializer = self.LogoutInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.token_revoke(
                refresh=serializer.validated_data["refresh"], account=request.user
            )
        except InvalidToken as exc:
            raise serializers.ValidationError({"refresh": [str(exc)]}) from None
        return Response(status=status.HTTP_204_NO_CONTENT)
