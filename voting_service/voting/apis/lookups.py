"""What the views of several concerns look up alike."""

from __future__ import annotations

import uuid

from rest_framework.exceptions import NotFound

from .. import selectors
from ..eligibility import NO_SUCH_POLL
from ..models import PollReplica


def poll_or_404(poll_id: uuid.UUID) -> PollReplica:
    """The poll as voting shows it (`selectors.poll_get`), or a 404 as for one never heard of."""
    poll = selectors.poll_get(poll_id=poll_id)
    if poll is None:
        raise NotFound(NO_SUCH_POLL)
    return poll
