"""The voting API: me as voting sees me, my ballots, and the tallies. Views validate input, call
a service or selector, and shape the output."""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_events.kit.api import StrictFieldsMixin, StrictIntegerField
from shared_events.kit.pagination import LimitOffsetPagination

from . import selectors, services
from .models import PollReplica, Voter
from .receipts import looks_like_receipt
from .services.ballots import EMPTY_BALLOT, NO_BALLOT

MAX_ALLOCATIONS = 1000  # far above any poll's cause count; bounds the work one request makes
MAX_POINTS = 2**63 - 1  # the database column's range


def _poll_or_404(poll_id: uuid.UUID) -> PollReplica:
    poll = selectors.poll_get(poll_id=poll_id)
    if poll is None:
        raise NotFound("No such poll.")
    return poll


class AllocationIO(StrictFieldsMixin, serializers.Serializer):
    cause = serializers.UUIDField(source="cause_id",
                                  error_messages={"invalid": "Must be a cause id (a UUID)."})
    points = StrictIntegerField(min_value=0, max_value=MAX_POINTS, error_messages={
        "invalid": "Points must be a whole number (not text, a decimal or true/false).",
        "min_value": "Points cannot be negative.",
        "max_value": "Too many points.",
    })


class AllocationList(serializers.ListSerializer):
    """A ballot's allocations: at least one (minItems in the schema), an empty list refused
    with the service's message, as flat as the other rules' rather than DRF's nested one."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, list) and not data:
            raise ValidationError([EMPTY_BALLOT])
        return super().to_internal_value(data)


class BallotOutput(serializers.Serializer):
    poll = serializers.UUIDField(source="poll_id")
    poll_title = serializers.CharField(source="poll.title")
    poll_status = serializers.CharField(source="poll.status")
    allocations = AllocationIO(many=True, source="current_allocations")
    total_points = serializers.SerializerMethodField()
    revisions = serializers.IntegerField(source="revision",
                                         help_text="How many times it was cast or retracted.")
    retracted = serializers.BooleanField(source="is_retracted")
    receipt = serializers.CharField(
        help_text="The receipt of the latest revision (see the revisions and receipts "
        "endpoints).")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_total_points(self, ballot: Any) -> int:
        return sum(a.points for a in ballot.current_allocations)

    def to_representation(self, ballot: Any) -> dict[str, Any]:
        # Written out, for speed on the hot path: the fields above still define the schema,
        # and test_ballot_output_matches_the_declared_fields keeps the two equal.
        allocations = [{"cause": str(a.cause_id), "points": a.points}
                       for a in ballot.current_allocations]
        return {
            "poll": str(ballot.poll_id),
            "poll_title": str(ballot.poll.title),
            "poll_status": str(ballot.poll.status),
            "allocations": allocations,
            "total_points": sum(a["points"] for a in allocations),
            "revisions": ballot.revision,
            "retracted": ballot.is_retracted,
            "receipt": ballot.receipt,
            "created_at": _DATETIME.to_representation(ballot.created_at),
            "updated_at": _DATETIME.to_representation(ballot.updated_at),
        }


_DATETIME = serializers.DateTimeField()


def allocations_if_plainly_valid(data: Any) -> list[dict[str, Any]] | None:
    """The allocations of a ballot body in the shape every client sends, `{"allocations":
    [{"cause": "<uuid>", "points": <int>}, ...]}`, without DRF's serializer machinery (the
    hot path). None for anything else, which then goes through `BallotApi.Input` for its
    field-level messages; test_the_plain_path_agrees_with_the_serializer keeps them equal."""
    if not isinstance(data, dict) or data.keys() != {"allocations"}:
        return None
    given = data["allocations"]
    if not isinstance(given, list) or not 0 < len(given) <= MAX_ALLOCATIONS:
        return None
    allocations = []
    for item in given:
        if not isinstance(item, dict) or item.keys() != {"cause", "points"}:
            return None
        cause, points = item["cause"], item["points"]
        if (not isinstance(cause, str) or type(points) is not int
                or not 0 <= points <= MAX_POINTS):
            return None
        try:
            allocations.append({"cause": uuid.UUID(hex=cause), "points": points})
        except ValueError:
            return None
    return allocations


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
        help_text="The count of the closed poll, written once at its close.")
    ballots_digest = serializers.CharField(
        allow_null=True, help_text="SHA-256 of the counted ballots (format in voting.digest).")
    receipts_digest = serializers.CharField(
        allow_null=True, help_text="Once final: SHA-256 of the counted ballots' receipts "
        "(format in voting.receipts; the list is at polls/<id>/receipts/).")
    computed_at = serializers.DateTimeField()


class VoterOutput(serializers.ModelSerializer):
    can_vote = serializers.BooleanField(read_only=True)

    class Meta:
        model = Voter
        fields = ["id", "role", "is_active", "points", "stake_address", "can_vote",
                  "source_version", "replicated_at"]
        read_only_fields = fields


class MeApi(APIView):
    @extend_schema(responses={200: VoterOutput, 404: OpenApiResponse(
                       description="voting does not know this account yet")},
                   summary="Me as voting sees me: eligibility and voting power")
    def get(self, request: Request) -> Response:
        voter = selectors.voter_get(voter_id=request.user.id)
        if voter is None or voter.is_deleted:
            # Registration reaches voting moments later; until then there is no voter.
            raise NotFound("This service does not know your account yet; try again shortly.")
        return Response(VoterOutput(voter).data)


class BallotApi(APIView):
    class Input(StrictFieldsMixin, serializers.Serializer):
        allocations = AllocationList(child=AllocationIO(), min_length=1,
                                     max_length=MAX_ALLOCATIONS)

    def _current(self, request: Request, poll_id: uuid.UUID) -> Any:
        ballot = selectors.ballot_get(voter_id=request.user.id, poll_id=poll_id)
        if ballot is None or ballot.is_retracted:
            raise NotFound(NO_BALLOT)
        return ballot

    @extend_schema(responses={200: BallotOutput}, summary="My ballot in this poll")
    def get(self, request: Request, poll_id: uuid.UUID) -> Response:
        _poll_or_404(poll_id)
        return Response(BallotOutput(self._current(request, poll_id)).data)

    @extend_schema(
        request=Input, responses={200: BallotOutput, 201: BallotOutput},
        summary="Cast or replace my ballot",
        description="Spread at most your current points over the poll's causes while it is "
        "open. Replaces any earlier ballot of yours in this poll (the earlier one stays in the "
        "history). Points are voting power per poll: every poll gets all of them.")
    def put(self, request: Request, poll_id: uuid.UUID) -> Response:
        allocations = allocations_if_plainly_valid(request.data)
        if allocations is None:
            serializer = self.Input(data=request.data)
            serializer.is_valid(raise_exception=True)
            allocations = [{"cause": a["cause_id"], "points": a["points"]}
                           for a in serializer.validated_data["allocations"]]
        # The ballot as stored: the service returns it with its poll and allocations.
        ballot, created = services.ballot_cast(voter_id=request.user.id,
                                               poll_id=poll_id, allocations=allocations)
        return Response(BallotOutput(ballot).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(responses={204: None}, summary="Retract my ballot while the poll is open")
    def delete(self, request: Request, poll_id: uuid.UUID) -> Response:
        services.ballot_retract(voter_id=request.user.id, poll_id=poll_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TallyApi(APIView):
    @extend_schema(responses={200: TallyOutput}, summary="The tally of a poll",
                   description="Live while the poll is open if its results are visible live; "
                   "otherwise once it has closed, then the final count with its digest.")
    def get(self, request: Request, poll_id: uuid.UUID) -> Response:
        poll = _poll_or_404(poll_id)
        if not poll.results_visible:
            raise PermissionDenied("This poll's tally is shown once the poll has closed.")
        return Response(TallyOutput(selectors.tally_for_display(poll=poll)).data)


class MyBallotsApi(APIView):
    # Declared, not just used: the OpenAPI schema then shows the page and limit/offset.
    pagination_class = LimitOffsetPagination

    @extend_schema(responses={200: BallotOutput(many=True)},
                   summary="My ballots in every poll, most recently changed first")
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.ballots_of_voter(voter_id=request.user.id), request, view=self)
        return paginator.get_paginated_response(BallotOutput(page, many=True).data)


class RevisionAllocationOutput(serializers.Serializer):
    cause = serializers.UUIDField()
    points = serializers.IntegerField()


class RevisionOutput(serializers.Serializer):
    number = serializers.IntegerField(help_text="1 for the first cast, then one more for each "
                                      "re-vote or retraction.")
    kind = serializers.ChoiceField(choices=["cast", "retract"])
    allocations = RevisionAllocationOutput(many=True,
                                           help_text="as given (empty for a retraction)")
    total_points = serializers.IntegerField()
    voter_points = serializers.IntegerField(help_text="your points when it was checked")
    created_at = serializers.DateTimeField()
    receipt = serializers.CharField(help_text="SHA-256 of this revision (voting.receipts)")
    previous_receipt = serializers.CharField(
        allow_null=True, help_text="The previous revision's receipt, which this one chains to.")
    nonce = serializers.CharField(help_text="The random part of the receipt, so you can "
                                  "recompute it.")
    status = serializers.ChoiceField(choices=[s.value for s in selectors.ReceiptStatus],
                                     help_text="what became of it (see receipts/<receipt>/)")


class BallotRevisionsApi(APIView):
    pagination_class = LimitOffsetPagination

    @extend_schema(responses={200: RevisionOutput(many=True)},
                   summary="Every revision of my ballot in this poll, with its receipt",
                   description="Oldest first: each cast, re-vote and retraction, the receipt "
                   "that chains it to the one before, and what became of it (`counted`, "
                   "`pending`, `superseded`, `retracted`, `cancelled`).")
    def get(self, request: Request, poll_id: uuid.UUID) -> Response:
        poll = _poll_or_404(poll_id)
        revisions = selectors.revisions_of_ballot(voter_id=request.user.id, poll_id=poll_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(revisions, request, view=self)
        if not page and not revisions.exists():
            raise NotFound(NO_BALLOT)
        final = selectors.final_tally(poll=poll) is not None
        latest = revisions.order_by("-number").values_list("number", "kind").first()
        for revision in page:
            revision.status = selectors.revision_status(
                poll=poll, final=final, number=revision.number, latest=latest)
        return paginator.get_paginated_response(RevisionOutput(page, many=True).data)


class ReceiptOutput(serializers.Serializer):
    receipt = serializers.CharField()
    poll = serializers.UUIDField(source="poll.pk")
    poll_title = serializers.CharField(source="poll.title")
    poll_status = serializers.CharField(source="poll.status")
    revision = serializers.IntegerField()
    latest_revision = serializers.IntegerField(
        help_text="the number of the ballot's latest revision")
    kind = serializers.ChoiceField(choices=["cast", "retract"])
    created_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=[s.value for s in selectors.ReceiptStatus])
    counted = serializers.BooleanField(help_text="included in the poll's final tally")
    explanation = serializers.CharField()
    receipts_digest = serializers.CharField(
        allow_null=True, help_text="the final tally's receipts digest, once there is one")


class ReceiptApi(APIView):
    # The receipt is the credential: 256 bits nobody can guess, known to its voter (and, for
    # counted ballots, published after the close). A voter can hand it to anyone to check.
    permission_classes = [AllowAny]

    @extend_schema(parameters=[OpenApiParameter(
                       "receipt", str, OpenApiParameter.PATH, pattern="^[0-9a-f]{64}$",
                       description="a receipt: 64 lowercase hex digits")],
                   responses={200: ReceiptOutput, 400: OpenApiResponse(
                       description="not a receipt (64 lowercase hex digits)"),
                       404: OpenApiResponse(description="no ballot revision has this receipt")},
                   summary="Check a receipt: is that ballot revision in the final tally?")
    def get(self, request: Request, receipt: str) -> Response:
        if not looks_like_receipt(receipt):
            raise ValidationError({"receipt": ["A receipt is 64 lowercase hex digits."]})
        check = selectors.receipt_check(receipt=receipt)
        if check is None:
            raise NotFound("No ballot revision has this receipt.")
        return Response(ReceiptOutput(check).data)


class CountedReceiptsPagination(LimitOffsetPagination):
    default_limit = 1000
    max_limit = 10_000


class PollReceiptsApi(APIView):
    pagination_class = CountedReceiptsPagination

    @extend_schema(responses={200: serializers.ListSerializer(child=serializers.CharField())},
                   summary="The receipts the final tally counted, sorted",
                   description="Once the poll has closed: one receipt per counted ballot, the "
                   "list the tally's `receipts_digest` is computed over (voting.receipts), so "
                   "anyone can recompute it and find their own receipt in it. 403 before.")
    def get(self, request: Request, poll_id: uuid.UUID) -> Response:
        poll = _poll_or_404(poll_id)
        if selectors.final_tally(poll=poll) is None:
            raise PermissionDenied("The receipts are published once the poll has closed.")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.counted_receipts(poll=poll), request,
                                           view=self)
        return paginator.get_paginated_response(list(page))
