"""A poll's results: the live tally while it runs (if it shows results live), the final points
and payouts once it is finalized, and why not while they are hidden."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors
from ..models import lovelace_to_ada
from .polls import is_operator


class CauseResultOutput(serializers.Serializer):
    cause = serializers.UUIDField(source="cause_id")
    title = serializers.CharField()
    points = serializers.IntegerField()
    voters = serializers.IntegerField()
    share = serializers.DecimalField(
        max_digits=7, decimal_places=6, help_text="points / total points"
    )
    payout_lovelace = serializers.IntegerField(
        allow_null=True, help_text="set once the poll is finalized"
    )
    payout_ada = serializers.SerializerMethodField()
    payout_status = serializers.CharField(
        source="payout.status",
        allow_null=True,
        default=None,
        help_text="the cause's payout transaction: pending, confirmed, confirmed_by_hand, "
        "mismatch or not_found; null while none is recorded",
    )
    payout_tx_hash = serializers.CharField(source="payout.tx_hash", allow_null=True, default=None)
    payout_explorer_url = serializers.CharField(
        source="payout.explorer_url",
        allow_null=True,
        default=None,
        help_text="a link to the transaction (PAYOUT_EXPLORER_URL); empty when none is set",
    )

    @extend_schema_field(serializers.DecimalField(max_digits=24, decimal_places=6, allow_null=True))
    def get_payout_ada(self, result: selectors.CauseResult) -> str | None:
        if result.payout_lovelace is None:
            return None
        return f"{lovelace_to_ada(result.payout_lovelace):f}"


class PollResultsOutput(serializers.Serializer):
    poll = serializers.UUIDField(source="poll_id")
    status = serializers.CharField()
    results_visibility = serializers.CharField()
    final = serializers.BooleanField(help_text="true once the poll is finalized")
    fund_lovelace = serializers.IntegerField()
    total_points = serializers.IntegerField()
    ballots = serializers.IntegerField()
    ballots_digest = serializers.CharField(allow_null=True)
    receipts_digest = serializers.CharField(
        allow_null=True,
        help_text="once final: the digest of the counted ballots' receipts "
        "(listed by voting_service at /voting/api/polls/<id>/receipts/)",
    )
    computed_at = serializers.DateTimeField(allow_null=True)
    finalized_at = serializers.DateTimeField(allow_null=True)
    no_payouts = serializers.BooleanField(
        help_text="finalized, but nobody allocated points, so nothing is paid out"
    )
    message = serializers.CharField()
    causes = CauseResultOutput(many=True)
    power_formula = serializers.CharField(
        help_text="the formula voting power was computed with (points, stake, sqrt_stake or "
        "stake_x_loyalty)"
    )
    snapshot_epoch = serializers.IntegerField(
        allow_null=True,
        help_text="the epoch whose stake distribution counted; null until the poll opens",
    )
    eligible = serializers.IntegerField(
        allow_null=True,
        help_text="how many delegators have voting power in this poll; null until voting says",
    )
    total_power = serializers.IntegerField(
        allow_null=True,
        help_text="the sum of their frozen voting power (`total_points` is "
        "how much of it was allocated); null until voting says",
    )


class PollResultsApi(APIView):
    @extend_schema(
        responses={
            200: PollResultsOutput,
            403: OpenApiResponse(
                description="not shown now; `detail` says why and when they will be"
            ),
        },
        summary="A poll's results: the live tally while it is open (if it shows "
        "results live), the final points and payouts once finalized. 403 with the "
        "reason while they are not shown.",
    )
    def get(self, request: Request, poll_id: uuid.UUID) -> Response:
        poll = selectors.poll_get(poll_id=poll_id, include_drafts=is_operator(request))
        return Response(PollResultsOutput(selectors.poll_results(poll=poll)).data)
