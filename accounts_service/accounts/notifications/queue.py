"""Where the notification services hand work to Celery: always after the commit of the rows the
task reads, so a task never runs before them or for a rolled-back change. A lost message is
found again by the beat sweep (`services.notices.notices_sweep`)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from django.db import transaction

logger = logging.getLogger(__name__)


def round_plan_on_commit(round_id: int) -> None:
    from .. import tasks

    transaction.on_commit(lambda: _send(tasks.notice_round_plan_task, round_id))


def notices_send_on_commit(notice_ids: Sequence[uuid.UUID]) -> None:
    from .. import tasks

    ids = [str(i) for i in notice_ids]
    transaction.on_commit(lambda: _send(tasks.notices_send_task, ids))


def confirmation_send_on_commit(account_id: uuid.UUID, email: str) -> None:
    from .. import tasks

    transaction.on_commit(lambda: _send(tasks.email_confirmation_send_task, str(account_id), email))


def _send(task, *args) -> None:  # type: ignore[no-untyped-def]
    try:
        task.delay(*args)
    except Exception:
        # The broker is away: the beat sweep plans and sends what is still pending.
        logger.exception("could not enqueue %s", task.name)
