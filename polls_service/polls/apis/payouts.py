"""A finalized poll's payout transactions: operators record them (and, without a chain source,
confirm them by hand); everyone signed in sees them and what the chain showed."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_events.kit.api import StrictFieldsMixin
from shared_events.kit.identity.permissions import IsOperator

from .. import selectors, services
from ..models import Payout
from .polls import is_operator


class PayoutLineOutput(serializers.Serializer):
    cause = serializers.UUIDField(source="cause_id")
    title = serializers.CharField(source="cause.title")
    address = serializers.CharField(help_text="the cause's payout address when recorded")
    expected_lovelace = serializers.IntegerField()
    found_lovelace = serializers.IntegerField(
        allow_null=True, help_text="paid to the address by the transaction; null until seen"
    )


class PayoutOutput(serializers.Serializer):
    id = serializers.UUIDField()
    poll = serializers.UUIDField(source="poll_id")
    tx_hash = serializers.CharField()
    status = serializers.CharField(
        help_text="pending, confirmed, confirmed_by_hand, mismatch or not_found"
    )
    verified = serializers.BooleanField(help_text="false when confirmed by hand, not on chain")
    note = serializers.CharField()
    confirmations = serializers.IntegerField()
    required_confirmations = serializers.SerializerMethodField()
    finding = serializers.CharField(
        help_text="what the last check found: confirmations so far, a cause paid short or "
        "to another address (expected and found), a source that did not answer"
    )
    explorer_url = serializers.CharField()
    recorded_at = serializers.DateTimeField()
    checked_at = serializers.DateTimeField(allow_null=True)
    confirmed_at = serializers.DateTimeField(allow_null=True)
    lines = PayoutLineOutput(many=True, source="lines.all")

    def get_required_confirmations(self, payout: Payout) -> int:
        return int(settings.PAYOUT_CONFIRMATIONS)


class PayoutInput(StrictFieldsMixin, serializers.Serializer):
    # Checked by the service, so the API and the admin say the same thing.
    tx_hash = serializers.CharField(max_length=200, trim_whitespace=True)
    causes = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        max_length=1000,
        help_text="the causes it pays; default: every cause with a payout not yet paid nor "
        "awaiting another pending transaction",
    )


class ConfirmInput(StrictFieldsMixin, serializers.Serializer):
    note = serializers.CharField(max_length=2000, allow_blank=True)


def _output(poll: Any, payout: Payout) -> dict:
    return PayoutOutput(selectors.payout_get(poll=poll, payout_id=payout.pk)).data


class PollPayoutsApi(APIView):
    def get_permissions(self):
        if self.request.method == "POST":
            return [IsAuthenticated(), IsOperator()]
        return [IsAuthenticated()]

    @extend_schema(responses={200: PayoutOutput(many=True)}, summary="A poll's payout records")
    def get(self, request: Request, poll_id: uuid.UUID) -> Response:
        poll = selectors.poll_get(poll_id=poll_id, include_drafts=is_operator(request))
        return Response(PayoutOutput(selectors.payouts_of_poll(poll=poll), many=True).data)

    @extend_schema(
        request=PayoutInput,
        responses={201: PayoutOutput},
        summary="Record a payout transaction of a finalized poll (operators). It is pending "
        "until PAYOUT_CONFIRMATIONS blocks hold it, then confirmed or a mismatch; 409 before "
        "the poll is finalized and for a transaction already recorded.",
    )
    def post(self, request: Request, poll_id: uuid.UUID) -> Response:
        poll = selectors.poll_get(poll_id=poll_id, include_drafts=True)
        serializer = PayoutInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        payout = services.payout_record(
            poll=poll,
            tx_hash=serializer.validated_data["tx_hash"],
            causes=serializer.validated_data.get("causes"),
            recorded_by=request.user.id,
        )
        return Response(_output(poll, payout), status=status.HTTP_201_CREATED)


class PayoutConfirmApi(APIView):
    permission_classes = [IsAuthenticated, IsOperator]

    @extend_schema(
        request=ConfirmInput,
        responses={200: PayoutOutput},
        summary="Confirm a pending payout by hand, with a note saying how it was checked "
        "(operators; only without a chain source: CHAIN_SOURCE=file or none). The record "
        "then says it was not verified on chain.",
    )
    def post(self, request: Request, poll_id: uuid.UUID, payout_id: uuid.UUID) -> Response:
        poll = selectors.poll_get(poll_id=poll_id, include_drafts=True)
        payout = selectors.payout_get(poll=poll, payout_id=payout_id)
        serializer = ConfirmInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        payout = services.payout_confirm_by_hand(
            payout=payout, note=serializer.validated_data["note"]
        )
        return Response(_output(poll, payout))
