"""The causes API: everyone signed in reads active causes, operators create and change them."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_events.kit.api import StrictFieldsMixin
from shared_events.kit.identity.permissions import IsOperator
from shared_events.kit.pagination import LimitOffsetPagination

from .. import selectors, services
from ..models import Cause


@extend_schema_field({"type": "string", "anyOf": [{"format": "uri"}, {"maxLength": 0}]})
class UrlOrEmptyField(serializers.CharField):
    """A URL, or "" when the cause has none (the schema said `format: uri` alone, which ""
    is not)."""


class CauseOutput(serializers.ModelSerializer):
    url = UrlOrEmptyField(read_only=True)
    image_url = UrlOrEmptyField(read_only=True)

    class Meta:
        model = Cause
        fields = [
            "id",
            "title",
            "description",
            "url",
            "image_url",
            "is_active",
            "payout_address",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CauseInput(StrictFieldsMixin, serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    image_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)
    payout_address = serializers.CharField(
        max_length=120,
        required=False,
        allow_blank=True,
        help_text="a bech32 Shelley address (addr1…) of CARDANO_NETWORK; checked, 400 if not",
    )


class CauseListApi(APIView):
    # Declared, not just used: the OpenAPI schema then shows the page and limit/offset.
    pagination_class = LimitOffsetPagination

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsAuthenticated(), IsOperator()]
        return [IsAuthenticated()]

    @extend_schema(
        parameters=[OpenApiParameter("include_inactive", bool, description="operators only")],
        responses={200: CauseOutput(many=True)},
        summary="Causes",
    )
    def get(self, request: Request) -> Response:
        include_inactive = request.query_params.get("include_inactive") == "true" and getattr(
            request.user, "is_operator", False
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.cause_list(include_inactive=include_inactive), request, view=self
        )
        return paginator.get_paginated_response(CauseOutput(page, many=True).data)

    @extend_schema(
        request=CauseInput, responses={201: CauseOutput}, summary="Create a cause (operators)"
    )
    def post(self, request: Request) -> Response:
        serializer = CauseInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        cause = services.cause_create(**serializer.validated_data)
        return Response(CauseOutput(cause).data, status=status.HTTP_201_CREATED)


class CauseDetailApi(APIView):
    def get_permissions(self):
        if self.request.method == "PATCH":
            return [IsAuthenticated(), IsOperator()]
        return [IsAuthenticated()]

    @extend_schema(responses={200: CauseOutput}, summary="One cause")
    def get(self, request: Request, cause_id: uuid.UUID) -> Response:
        return Response(CauseOutput(selectors.cause_get(cause_id=cause_id)).data)

    @extend_schema(
        request=CauseInput(partial=True),
        responses={200: CauseOutput},
        summary="Change a cause; deactivate rather than delete (operators)",
    )
    def patch(self, request: Request, cause_id: uuid.UUID) -> Response:
        cause = selectors.cause_get(cause_id=cause_id)
        serializer = CauseInput(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return Response(
            CauseOutput(services.cause_update(cause=cause, **serializer.validated_data)).data
        )
