"""The ceiling of the ballot benchmark (ballots.py): the same web stack as a ballot (gunicorn,
Django's middleware, DRF, the JWT check, PostgreSQL) answering an authenticated POST that
inserts one row. A ballot's throughput is reported as a fraction of this one's."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_events.kit.api import StrictFieldsMixin

from .models import BenchRow


class BenchInsertApi(APIView):
    class Input(StrictFieldsMixin, serializers.Serializer):
        note = serializers.CharField(max_length=100, allow_blank=True)

    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = BenchRow.objects.create(
            caller=request.user.id,
            note=serializer.validated_data["note"],
            created_at=timezone.now(),
        )
        return Response({"id": row.pk}, status=status.HTTP_201_CREATED)
