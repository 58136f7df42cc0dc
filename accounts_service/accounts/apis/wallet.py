"""Proofs of stake addresses: a challenge to sign with the stake key (CIP-30 `signData` in a
browser wallet, or a CLI signer), and the signature back, to link the address to my account or
to sign in with it."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_events.kit.api import StrictFieldsMixin
from shared_events.kit.identity.authentication import AnonymousWithBearerChallenge

from .. import services
from ..chain.stake_proof import MAX_KEY_HEX, MAX_SIGNATURE_HEX
from ..models import StakeAddressChallenge
from ..throttles import LoginAddressThrottle, LoginStakeAddressThrottle, StakeProofThrottle
from .accounts import AccountOutput
from .auth import TokenPairOutput

SIGNING = (
    "Sign `payload_hex` with the stake key of the address: in a browser wallet with CIP-30 "
    "`signData(rewardAddress, payload_hex)`, or on the command line with a CIP-8 signer "
    "(cardano-signer `sign --cip8`). The challenge is good for one proof, for a few minutes."
)
PROVING = (
    "`signature` and `key` are the COSE_Sign1 and the COSE_Key, hex CBOR, as CIP-30 `signData` "
    "returns them. A 400 names what is wrong: a forged or truncated signature, another key, a "
    "payment address instead of a stake address, the wrong network, another payload, an "
    "expired, used or unknown challenge, malformed CBOR or hex."
)


class StakeChallengeOutput(serializers.ModelSerializer):
    challenge_id = serializers.UUIDField(source="id", read_only=True)
    payload_hex = serializers.SerializerMethodField()

    class Meta:
        model = StakeAddressChallenge
        fields = ["challenge_id", "payload_hex", "text", "expires_at"]
        read_only_fields = fields

    def get_payload_hex(self, challenge: StakeAddressChallenge) -> str:
        return challenge.payload.hex()


class StakeProofInput(StrictFieldsMixin, serializers.Serializer):
    challenge_id = serializers.UUIDField()
    signature = serializers.CharField(max_length=MAX_SIGNATURE_HEX)
    key = serializers.CharField(max_length=MAX_KEY_HEX)


class NoInput(StrictFieldsMixin, serializers.Serializer):
    pass


def _domain(request: Request) -> str:
    """The domain the signed text names: a setting, or the host this request came to."""
    return settings.STAKE_PROOF_DOMAIN or request.get_host()


def _validated(serializer_class, request: Request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class MeStakeAddressChallengeApi(APIView):
    throttle_classes = [StakeProofThrottle]

    @extend_schema(
        request=None,
        responses={201: StakeChallengeOutput},
        summary="A challenge to prove my stake address",
        description=SIGNING,
    )
    def post(self, request: Request) -> Response:
        _validated(NoInput, request)
        challenge = services.stake_address_challenge_issue(
            account=request.user, domain=_domain(request)
        )
        return Response(StakeChallengeOutput(challenge).data, status=status.HTTP_201_CREATED)


class MeStakeAddressVerifyApi(APIView):
    throttle_classes = [StakeProofThrottle]

    @extend_schema(
        request=StakeProofInput,
        responses={200: AccountOutput},
        summary="Prove my stake address: it is then mine, and counts",
        description=PROVING + " The address moves from any account that had it.",
    )
    def post(self, request: Request) -> Response:
        account = services.stake_address_prove(
            account=request.user, **_validated(StakeProofInput, request)
        )
        return Response(AccountOutput(account).data)


class WalletChallengeApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = [AnonymousWithBearerChallenge]
    throttle_classes = [LoginAddressThrottle, LoginStakeAddressThrottle]

    class WalletChallengeInput(StrictFieldsMixin, serializers.Serializer):
        stake_address = serializers.CharField(max_length=120)

    @extend_schema(
        request=WalletChallengeInput,
        responses={201: StakeChallengeOutput},
        auth=[],
        summary="A challenge to sign in with a wallet",
        description=SIGNING,
    )
    def post(self, request: Request) -> Response:
        data = _validated(self.WalletChallengeInput, request)
        challenge = services.wallet_challenge_issue(
            stake_address=data["stake_address"], domain=_domain(request)
        )
        return Response(StakeChallengeOutput(challenge).data, status=status.HTTP_201_CREATED)


class WalletTokenApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = [AnonymousWithBearerChallenge]
    throttle_classes = [LoginAddressThrottle]

    @extend_schema(
        request=StakeProofInput,
        responses={200: TokenPairOutput},
        auth=[],
        summary="Sign in with a wallet: a JWT access/refresh pair",
        description=PROVING + " The first sign-in makes the account (no password; "
        "an email may be added later with PATCH me/).",
    )
    def post(self, request: Request) -> Response:
        account = services.wallet_sign_in(**_validated(StakeProofInput, request))
        return Response(services.token_pair_sign_in(account=account))
