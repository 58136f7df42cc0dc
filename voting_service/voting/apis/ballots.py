"""My ballot in a poll (read, cast, retract) and my ballots in every poll."""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_events.kit.api import StrictFieldsMixin
from shared_events.kit.pagination import LimitOffsetPagination

from .. import selectors, services
from ..allocations import (
    MAX_ALLOCATIONS,
    MAX_POINTS,
    AllocationIn,
    AllocationsInvalid,
    allocations_validate,
)
from ..eligibility import NO_BALLOT
from ..models import PollStatus
from .lookups import poll_or_404
from .power import NOT_COMPUTED


class AllocationIO(serializers.Serializer):
    """Points given to a cause. In a ballot each cause appears at most once, and at least one
    gets more than zero points."""

    cause = serializers.UUIDField(source="cause_id")
    points = serializers.IntegerField(min_value=0, max_value=MAX_POINTS)


@extend_schema_field(AllocationIO(many=True, min_length=1, max_length=MAX_ALLOCATIONS))
class AllocationsField(serializers.Field):
    """A ballot's allocations, checked by the rules `services.ballot_cast` applies too, with
    their messages nested as DRF nests a list's."""

    def to_internal_value(self, data: Any) -> list[AllocationIn]:
        try:
            return allocations_validate(data)
        except AllocationsInvalid as exc:
            raise serializers.ValidationError(exc.detail) from None


def ballot_allocations(data: Any) -> list[AllocationIn]:
    """The allocations of a ballot body, or a 400 saying what is wrong with it. The body every
    client sends, `{"allocations": [...]}`, goes straight to the validator: DRF's serializer
    around it costs several times the checks themselves on the hottest write. Any other body
    goes through `BallotApi.Input`, which words what is wrong with it as for any serializer."""
    if type(data) is dict and data.keys() == {"allocations"}:
        try:
            return allocations_validate(data["allocations"])
        except AllocationsInvalid as exc:
            raise serializers.ValidationError({"allocations": exc.detail}) from None
    serializer = BallotApi.Input(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data["allocations"]


class BallotOutput(serializers.Serializer):
    poll = serializers.UUIDField(source="poll_id")
    poll_title = serializers.CharField(source="poll.title")
    poll_status = serializers.CharField(source="poll.status")
    poll_paid = serializers.SerializerMethodField(
        help_text="true once every cause of the poll was paid (payouts confirmed on chain, "
        "or by hand without a chain source)"
    )
    allocations = AllocationIO(many=True, source="current_allocations")
    total_points = serializers.SerializerMethodField()
    revisions = serializers.IntegerField(
        source="revision", help_text="How many times it was cast or retracted."
    )
    retracted = serializers.BooleanField(source="is_retracted")
    receipt = serializers.CharField(
        help_text="The receipt of the latest revision (see the revisions and receipts endpoints)."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_poll_paid(self, ballot: Any) -> bool:
        return bool(ballot.poll.status == PollStatus.PAID)

    def get_total_points(self, ballot: Any) -> int:
        return sum(a.points for a in ballot.current_allocations)

    def to_representation(self, ballot: Any) -> dict[str, Any]:
        # Written out, for speed on the hot path: the fields above still define the schema,
        # and test_ballot_output_matches_the_declared_fields keeps the two equal.
        allocations = [
            {"cause": str(a.cause_id), "points": a.points} for a in ballot.current_allocations
        ]
        return {
            "poll": str(ballot.poll_id),
            "poll_title": str(ballot.poll.title),
            "poll_status": str(ballot.poll.status),
            "poll_paid": ballot.poll.status == PollStatus.PAID,
            "allocations": allocations,
            "total_points": sum(a["points"] for a in allocations),
            "revisions": ballot.revision,
            "retracted": ballot.is_retracted,
            "receipt": ballot.receipt,
            "created_at": _DATETIME.to_representation(ballot.created_at),
            "updated_at": _DATETIME.to_representation(ballot.updated_at),
        }


_DATETIME = serializers.DateTimeField()


class BallotApi(APIView):
    class Input(StrictFieldsMixin, serializers.Serializer):
        allocations = AllocationsField()

    @extend_schema(responses={200: BallotOutput}, summary="My ballot in this poll")
    def get(self, request: Request, poll_id: uuid.UUID) -> Response:
        poll_or_404(poll_id)
        ballot = selectors.ballot_get(voter_id=request.user.id, poll_id=poll_id)
        if ballot is None or ballot.is_retracted:
            raise NotFound(NO_BALLOT)
        return Response(BallotOutput(ballot).data)

    @extend_schema(
        request=Input,
        responses={200: BallotOutput, 201: BallotOutput, 409: NOT_COMPUTED},
        summary="Cast or replace my ballot",
        description="Spread at most your voting power in this poll (see its power endpoint: "
        "in the open mode your points, frozen at your first need) over the poll's causes while "
        "it is open. Replaces any earlier ballot of yours in this poll (the earlier one stays "
        "in the history). Power is per poll: every poll gets all of it. 409 while chain mode's "
        "power of the poll is not computed yet.",
    )
    def put(self, request: Request, poll_id: uuid.UUID) -> Response:
        allocations = ballot_allocations(request.data)
        # The ballot as stored: the service returns it with its poll and allocations.
        ballot, created = services.ballot_cast(
            voter_id=request.user.id, poll_id=poll_id, allocations=allocations
        )
        return Response(
            BallotOutput(ballot).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(responses={204: None}, summary="Retract my ballot while the poll is open")
    def delete(self, request: Request, poll_id: uuid.UUID) -> Response:
        services.ballot_retract(voter_id=request.user.id, poll_id=poll_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyBallotsApi(APIView):
    # Declared, not just used: the OpenAPI schema then shows the page and limit/offset.
    pagination_class = LimitOffsetPagination

    @extend_schema(
        responses={200: BallotOutput(many=True)},
        summary="My ballots in every poll, most recently changed first",
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.ballots_of_voter(voter_id=request.user.id), request, view=self
        )
        return paginator.get_paginated_response(BallotOutput(page, many=True).data)
