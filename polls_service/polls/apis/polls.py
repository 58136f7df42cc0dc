"""The polls API: everyone signed in reads polls and their results (delegators never see
drafts); operators create, change, schedule, close and cancel them."""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_events.kit.api import StrictFieldsMixin, StrictIntegerField
from shared_events.kit.identity.permissions import IsOperator
from shared_events.kit.pagination import LimitOffsetPagination

from .. import selectors, services
from ..models import (
    MAX_LOVELACE,
    Poll,
    PollStatus,
    PowerFormula,
    ResultsVisibility,
    lovelace_to_ada,
)
from ..services.power import MAX_EPOCH
from .causes import CauseOutput

POWER_FORMULA_HELP = (
    "how voting turns each delegator's stake and loyalty into voting power, once, when the "
    "poll opens: `points` (loyalty points), `stake` (active stake in whole ada), `sqrt_stake` "
    "(its square root, which damps whales), `stake_x_loyalty` (whole ada times the epochs in a "
    "row delegated to the pool). The stake formulas need a chain source: in the open mode "
    "(CHAIN_SOURCE=none) they are refused with a 400. Default `points`; fixed once the poll "
    "opens, like the other voting power fields."
)


class PollOutput(serializers.ModelSerializer):
    causes = serializers.SerializerMethodField(help_text="cause ids, in display order")
    fund_ada = serializers.SerializerMethodField()

    class Meta:
        model = Poll
        fields = [
            "id",
            "title",
            "description",
            "fund_lovelace",
            "fund_ada",
            "opens_at",
            "closes_at",
            "status",
            "results_visibility",
            "causes",
            "power_formula",
            "min_stake_lovelace",
            "cap_percent",
            "snapshot_epoch",
            "created_at",
            "updated_at",
            "finalized_at",
        ]
        read_only_fields = fields
        extra_kwargs = {"power_formula": {"help_text": POWER_FORMULA_HELP}}

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_causes(self, poll: Poll) -> list[str]:
        return [str(entry.cause_id) for entry in poll.poll_causes.all()]

    @extend_schema_field(serializers.DecimalField(max_digits=24, decimal_places=6))
    def get_fund_ada(self, poll: Poll) -> str:
        return f"{lovelace_to_ada(poll.fund_lovelace):f}"


class PollDetailOutput(PollOutput):
    cause_details = serializers.SerializerMethodField(help_text="the causes, in display order")

    class Meta(PollOutput.Meta):
        fields = [*PollOutput.Meta.fields, "cause_details"]
        read_only_fields = fields

    @extend_schema_field(CauseOutput(many=True))
    def get_cause_details(self, poll: Poll) -> list[dict]:
        return CauseOutput([entry.cause for entry in poll.poll_causes.all()], many=True).data


class PollInput(StrictFieldsMixin, serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    fund_lovelace = StrictIntegerField(
        min_value=1, max_value=MAX_LOVELACE, help_text="the fund in lovelace (1 ada = 1,000,000)"
    )
    opens_at = serializers.DateTimeField()
    closes_at = serializers.DateTimeField()
    results_visibility = serializers.ChoiceField(choices=ResultsVisibility.choices, required=False)
    causes = serializers.ListField(
        child=serializers.UUIDField(), required=False, help_text="cause ids, in display order"
    )
    power_formula = serializers.ChoiceField(
        choices=PowerFormula.choices, required=False, help_text=POWER_FORMULA_HELP
    )
    min_stake_lovelace = StrictIntegerField(
        min_value=0,
        max_value=MAX_LOVELACE,
        required=False,
        help_text="a delegator with less active stake in the snapshot epoch has no power in "
        "this poll (default 0; more needs a chain source)",
    )
    cap_percent = StrictIntegerField(
        min_value=1,
        max_value=100,
        required=False,
        allow_null=True,
        help_text="no voter's power above this share of the total power (1-100): the excess "
        "is cut, not given to others; null (default): no cap",
    )
    snapshot_epoch = StrictIntegerField(
        min_value=0,
        max_value=MAX_EPOCH,
        required=False,
        allow_null=True,
        help_text="the epoch whose stake distribution counts, at most the epoch the poll opens "
        "in; null (default): polls sets it to the epoch of opens_at when the poll opens",
    )

    # What the output shows but a client cannot set: sending it is "read-only", not "unknown".
    id = serializers.UUIDField(read_only=True)
    status = serializers.CharField(read_only=True)
    fund_ada = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    finalized_at = serializers.DateTimeField(read_only=True)
    cause_details = serializers.ListField(read_only=True)


class NoInput(StrictFieldsMixin, serializers.Serializer):
    """The transitions take no body: anything sent is a mistake worth telling."""


def is_operator(request: Request) -> bool:
    """Operators see drafts; everyone else is told a draft does not exist."""
    return bool(getattr(request.user, "is_operator", False))


def _detail(request: Request, poll: Poll) -> dict:
    return PollDetailOutput(
        selectors.poll_get(poll_id=poll.pk, include_drafts=is_operator(request))
    ).data


class PollListApi(APIView):
    # Declared, not just used: the OpenAPI schema then shows the page and limit/offset.
    pagination_class = LimitOffsetPagination

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsAuthenticated(), IsOperator()]
        return [IsAuthenticated()]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "status", enum=PollStatus.values, description="only polls in this state"
            )
        ],
        responses={200: PollOutput(many=True)},
        summary="Polls, newest first",
    )
    def get(self, request: Request) -> Response:
        status_filter = request.query_params.get("status")
        if status_filter is not None and status_filter not in PollStatus.values:
            raise serializers.ValidationError(
                {"status": [f"Use one of: {', '.join(PollStatus.values)}."]}
            )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.poll_list(include_drafts=is_operator(request), status=status_filter),
            request,
            view=self,
        )
        return paginator.get_paginated_response(PollOutput(page, many=True).data)

    @extend_schema(
        request=PollInput,
        responses={201: PollDetailOutput},
        summary="Create a poll, in draft (operators)",
    )
    def post(self, request: Request) -> Response:
        serializer = PollInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        poll = services.poll_create(**serializer.validated_data)
        return Response(_detail(request, poll), status=status.HTTP_201_CREATED)


class PollDetailApi(APIView):
    def get_permissions(self):
        if self.request.method == "PATCH":
            return [IsAuthenticated(), IsOperator()]
        return [IsAuthenticated()]

    @extend_schema(responses={200: PollDetailOutput}, summary="One poll, with its causes")
    def get(self, request: Request, poll_id: uuid.UUID) -> Response:
        return Response(
            PollDetailOutput(
                selectors.poll_get(poll_id=poll_id, include_drafts=is_operator(request))
            ).data
        )

    @extend_schema(
        request=PollInput(partial=True),
        responses={200: PollDetailOutput},
        summary="Change a poll (operators). Once it is open only the title and "
        "description may change.",
    )
    def patch(self, request: Request, poll_id: uuid.UUID) -> Response:
        poll = selectors.poll_get(poll_id=poll_id, include_drafts=True)
        serializer = PollInput(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        poll = services.poll_update(poll=poll, **serializer.validated_data)
        return Response(_detail(request, poll))


class _PollTransitionApi(APIView):
    permission_classes = [IsAuthenticated, IsOperator]
    transition: Any = None

    def post(self, request: Request, poll_id: uuid.UUID) -> Response:
        poll = selectors.poll_get(poll_id=poll_id, include_drafts=True)
        NoInput(data=request.data or {}).is_valid(raise_exception=True)
        poll = type(self).transition(poll=poll)
        return Response(_detail(request, poll))


@extend_schema(
    request=None,
    responses={200: PollDetailOutput},
    summary="Schedule a draft poll: it opens at opens_at (operators). Needs at least "
    "two active causes and closes_at in the future.",
)
class PollScheduleApi(_PollTransitionApi):
    transition = services.poll_schedule


@extend_schema(
    request=None,
    responses={200: PollDetailOutput},
    summary="Close an open poll early (operators): it becomes `closing`",
    description="`closes_at` moves to now plus `POLL_CLOSE_GRACE_SECONDS` (5 s by "
    "default; never later than it was), so that voting_service hears of the close "
    "before it takes effect and refuses ballots from that instant on. The poll "
    "stays `closing` until voting's final tally arrives, then becomes `finalized` "
    "with `closes_at` set to the instant voting stopped taking ballots: the "
    "requested one normally, later if voting heard late (events held up), since a "
    "ballot voting accepted (2xx) always counts. A revision counts if and only if "
    "voting accepted it before the `closes_at` shown once finalized.",
)
class PollCloseApi(_PollTransitionApi):
    transition = services.poll_close


@extend_schema(
    request=None,
    responses={200: PollDetailOutput},
    summary="Cancel a draft, scheduled or open poll (operators)",
)
class PollCancelApi(_PollTransitionApi):
    transition = services.poll_cancel
