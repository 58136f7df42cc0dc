"""The messages: plain text and HTML from templates, with the one-click unsubscribe headers of
RFC 8058 on every notice."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from . import links

_TEMPLATES = "accounts/notifications"


def notice_message(
    *, to: str, account_id: Any, kind: str, context: dict[str, Any]
) -> EmailMultiAlternatives:
    """A notice of `kind` to `to`. Unsubscribing turns off this kind only."""
    token = links.unsubscribe_token(account_id=account_id, kind=kind)
    unsubscribe_url = links.public_url(f"api/notifications/unsubscribe/{token}/")
    context = {**context, "unsubscribe_url": unsubscribe_url}
    message = _message(to=to, template=kind, context=context)
    message.extra_headers.update(
        {
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    )
    return message


def confirm_message(*, to: str, account_id: Any) -> EmailMultiAlternatives:
    token = links.confirm_token(account_id=account_id, email=to)
    confirm_url = links.public_url(f"api/me/notifications/confirm/?token={token}")
    hours = settings.NOTIFY_CONFIRM_MAX_AGE_SECONDS // 3600
    return _message(
        to=to, template="confirm_email", context={"confirm_url": confirm_url, "hours": hours}
    )


def _message(*, to: str, template: str, context: dict[str, Any]) -> EmailMultiAlternatives:
    subject = render_to_string(f"{_TEMPLATES}/{template}_subject.txt", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),  # one line, whatever the template's whitespace
        body=render_to_string(f"{_TEMPLATES}/{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
    )
    message.attach_alternative(
        render_to_string(f"{_TEMPLATES}/{template}.html", context), "text/html"
    )
    return message
