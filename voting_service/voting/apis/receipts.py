"""The revisions of my ballot with their receipts, what became of a receipt, and the receipts a
final tally counted (formats in `voting.receipts`)."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_events.kit.pagination import LimitOffsetPagination

from .. import selectors
from ..eligibility import NO_BALLOT
from ..receipts import looks_like_receipt
from .lookups import poll_or_404


class RevisionAllocationOutput(serializers.Serializer):
    cause = serializers.UUIDField()
    points = serializers.IntegerField()


class RevisionOutput(serializers.Serializer):
    number = serializers.IntegerField(
        help_text="1 for the first cast, then one more for each re-vote or retraction."
    )
    kind = serializers.ChoiceField(choices=["cast", "retract"])
    allocations = RevisionAllocationOutput(many=True, help_text="as given (empty for a retraction)")
    total_points = serializers.IntegerField()
    voter_points = serializers.IntegerField(help_text="your points when it was checked")
    created_at = serializers.DateTimeField()
    receipt = serializers.CharField(help_text="SHA-256 of this revision (voting.receipts)")
    previous_receipt = serializers.CharField(
        allow_null=True, help_text="The previous revision's receipt, which this one chains to."
    )
    nonce = serializers.CharField(
        help_text="The random part of the receipt, so you can recompute it."
    )
    status = serializers.ChoiceField(
        choices=[s.value for s in selectors.ReceiptStatus],
        help_text="what became of it (see receipts/<receipt>/)",
    )


class BallotRevisionsApi(APIView):
    pagination_class = LimitOffsetPagination

    @extend_schema(
        responses={200: RevisionOutput(many=True)},
        summary="Every revision of my ballot in this poll, with its receipt",
        description="Oldest first: each cast, re-vote and retraction, the receipt "
        "that chains it to the one before, and what became of it (`counted`, "
        "`pending`, `superseded`, `retracted`, `cancelled`).",
    )
    def get(self, request: Request, poll_id: uuid.UUID) -> Response:
        poll = poll_or_404(poll_id)
        revisions = selectors.revisions_of_ballot(voter_id=request.user.id, poll_id=poll_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(revisions, request, view=self)
        if not page and not revisions.exists():
            raise NotFound(NO_BALLOT)
        final = selectors.final_tally(poll=poll) is not None
        latest = revisions.order_by("-number").values_list("number", "kind").first()
        for revision in page:
            revision.status = selectors.revision_status(
                poll=poll, final=final, number=revision.number, latest=latest
            )
        return paginator.get_paginated_response(RevisionOutput(page, many=True).data)


class ReceiptOutput(serializers.Serializer):
    receipt = serializers.CharField()
    poll = serializers.UUIDField(source="poll.pk")
    poll_title = serializers.CharField(source="poll.title")
    poll_status = serializers.CharField(source="poll.status")
    revision = serializers.IntegerField()
    latest_revision = serializers.IntegerField(
        help_text="the number of the ballot's latest revision"
    )
    kind = serializers.ChoiceField(choices=["cast", "retract"])
    created_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=[s.value for s in selectors.ReceiptStatus])
    counted = serializers.BooleanField(help_text="included in the poll's final tally")
    explanation = serializers.CharField()
    receipts_digest = serializers.CharField(
        allow_null=True, help_text="the final tally's receipts digest, once there is one"
    )


class ReceiptApi(APIView):
    # The receipt is the credential: 256 bits nobody can guess, known to its voter (and, for
    # counted ballots, published after the close). A voter can hand it to anyone to check.
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "receipt",
                str,
                OpenApiParameter.PATH,
                pattern="^[0-9a-f]{64}$",
                description="a receipt: 64 lowercase hex digits",
            )
        ],
        responses={
            200: ReceiptOutput,
            400: OpenApiResponse(description="not a receipt (64 lowercase hex digits)"),
            404: OpenApiResponse(description="no ballot revision has this receipt"),
        },
        summary="Check a receipt: is that ballot revision in the final tally?",
    )
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

    @extend_schema(
        responses={200: serializers.ListSerializer(child=serializers.CharField())},
        summary="The receipts the final tally counted, sorted",
        description="Once the poll has closed: one receipt per counted ballot, the "
        "list the tally's `receipts_digest` is computed over (voting.receipts), so "
        "anyone can recompute it and find their own receipt in it. 403 before.",
    )
    def get(self, request: Request, poll_id: uuid.UUID) -> Response:
        poll = poll_or_404(poll_id)
        if selectors.final_tally(poll=poll) is None:
            raise PermissionDenied("The receipts are published once the poll has closed.")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.counted_receipts(poll=poll), request, view=self
        )
        return paginator.get_paginated_response(list(page))
