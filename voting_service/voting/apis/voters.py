"""Me as voting sees me: its replica of my account, which decides whether and how much I vote."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors
from ..models import Voter


class VoterOutput(serializers.ModelSerializer):
    can_vote = serializers.BooleanField(read_only=True)

    class Meta:
        model = Voter
        fields = [
            "id",
            "role",
            "is_active",
            "points",
            "stake_address",
            "can_vote",
            "source_version",
            "replicated_at",
        ]
        read_only_fields = fields


class MeApi(APIView):
    @extend_schema(
        responses={
            200: VoterOutput,
            404: OpenApiResponse(description="voting does not know this account yet"),
        },
        summary="Me as voting sees me: eligibility and voting power",
    )
    def get(self, request: Request) -> Response:
        voter = selectors.voter_get(voter_id=request.user.id)
        if voter is None or voter.is_deleted:
            # Registration reaches voting moments later; until then there is no voter.
            raise NotFound("This service does not know your account yet; try again shortly.")
        return Response(VoterOutput(voter).data)
