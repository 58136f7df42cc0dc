"""My voting power in a poll, and the poll's whole frozen power table for operators (CSV)."""

from __future__ import annotations

import uuid

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_events.kit.identity.permissions import IsOperator

from .. import services
from ..selectors.power import power_table_csv
from .lookups import poll_or_404


class PowerOutput(serializers.Serializer):
    eligible = serializers.BooleanField(help_text="Whether you may vote in this poll.")
    power = serializers.IntegerField(
        allow_null=True,
        help_text="Your frozen voting power in this poll: what a ballot's "
        "points may add up to. Null when not eligible.",
    )
    reason = serializers.CharField(
        allow_null=True,
        help_text="Why you may not vote (no proven stake address, not in the "
        "pool's stake distribution of the snapshot epoch, below the minimum stake, …); null "
        "when eligible.",
    )


class DetailOutput(serializers.Serializer):
    detail = serializers.CharField()


NOT_COMPUTED = OpenApiResponse(
    response=DetailOutput,
    description="chain mode: the poll's power is not computed yet (its "
    "snapshot epoch's stake is not complete here yet)",
)


class PowerApi(APIView):
    @extend_schema(
        responses={200: PowerOutput, 409: NOT_COMPUTED},
        summary="My voting power in this poll",
        description="Checked by the rules a ballot meets. While the poll takes ballots, asking "
        "freezes power not frozen yet (the open mode's points, say), so the answer is what your "
        "ballot will be checked against.",
    )
    def get(self, request: Request, poll_id: uuid.UUID) -> Response:
        answer = services.voter_power_in_poll(voter_id=request.user.id, poll_id=poll_id)
        return Response(PowerOutput(answer).data)


class CsvOrJsonNegotiation(DefaultContentNegotiation):
    """A client that asks for the CSV (`Accept: text/csv`) gets it, not a 406: the view answers
    its table itself, and a refusal in JSON, as everywhere."""

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            if "text/csv" not in request.META.get("HTTP_ACCEPT", ""):
                raise
            return JSONRenderer(), JSONRenderer.media_type


class PowerTableApi(APIView):
    """The table is an HttpResponse of its own (text/csv); a refusal is JSON, as everywhere."""

    content_negotiation_class = CsvOrJsonNegotiation

    def get_permissions(self) -> list:
        return [IsAuthenticated(), IsOperator()]

    @extend_schema(
        responses={(200, "text/csv"): OpenApiTypes.STR},
        summary="The poll's frozen power table (CSV, operators)",
        description="A row per stake address (chain mode) or per voter whose power was frozen "
        "(open mode, pseudonymous): stake_address, voter, lovelace, loyalty, uncapped_power, "
        "power, frozen_at.",
    )
    def get(self, request: Request, poll_id: uuid.UUID) -> HttpResponse:
        poll = poll_or_404(poll_id)
        response = HttpResponse(power_table_csv(poll=poll), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="power-{poll.pk}.csv"'
        return response
