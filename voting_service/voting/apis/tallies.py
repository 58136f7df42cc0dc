"""The tally of a poll: live while it is open if its results are visible live, final once it
has closed."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors
from .lookups import poll_or_404


class CauseTallyOutput(serializers.Serializer):
    cause_id = serializers.UUIDField()
    points = serializers.IntegerField()
    voters = serializers.IntegerField()


class TallyOutput(serializers.Serializer):
    poll = serializers.UUIDField(source="poll_id")
    causes = CauseTallyOutput(many=True)
    ballots = serializers.IntegerField()
    total_points = serializers.IntegerField()
    final = serializers.BooleanField(
        help_text="The count of the closed poll, written once at its close."
    )
    ballots_digest = serializers.CharField(
        allow_null=True, help_text="SHA-256 of the counted ballots (format in voting.digest)."
    )
    receipts_digest = serializers.CharField(
        allow_null=True,
        help_text="Once final: SHA-256 of the counted ballots' receipts "
        "(format in voting.receipts; the list is at polls/<id>/receipts/).",
    )
    computed_at = serializers.DateTimeField()


class TallyApi(APIView):
    @extend_schema(
        responses={200: TallyOutput},
        summary="The tally of a poll",
        description="Live while the poll is open if its results are visible live; "
        "otherwise once it has closed, then the final count with its digest.",
    )
    def get(self, request: Request, poll_id: uuid.UUID) -> Response:
        poll = poll_or_404(poll_id)
        if not poll.results_visible:
            raise PermissionDenied("This poll's tally is shown once the poll has closed.")
        return Response(TallyOutput(selectors.tally_for_display(poll=poll)).data)
