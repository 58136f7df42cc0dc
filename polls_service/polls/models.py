"""Causes (what a fund can go to). Funding rounds come with the polls issue."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from shared_events.outbox.published import PublishedModel
from shared_events.schemas.polls import CauseState


class Cause(PublishedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    url = models.URLField(max_length=500, blank=True)
    image_url = models.URLField(max_length=500, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    event_aggregate = "polls.cause"
    published_fields = frozenset({"title", "description", "url", "image_url", "is_active"})

    class Meta(PublishedModel.Meta):
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def event_state(self) -> CauseState:
        return CauseState(id=str(self.id), title=self.title, description=self.description,
                          url=self.url, image_url=self.image_url, is_active=self.is_active)
