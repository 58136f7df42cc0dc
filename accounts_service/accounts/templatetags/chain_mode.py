"""The admin index's word on the mode (shared_events.kit.chain_mode) and the chain source: an
operator sees the open mode, or a stale source, on the first page."""

from __future__ import annotations

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import capfirst

from shared_events.kit.chain_mode import mode_summary, open_eligibility

from ..selectors import chain_status

register = template.Library()


@register.simple_tag
def chain_mode_messages() -> SafeString:
    status = chain_status()
    lines = [("warning" if open_eligibility() else "info", mode_summary())]
    if status["source"] != "none":
        lines.append(("warning" if status["stale_since"] else "info", status["summary"]))
    # As the admin shows its own messages (capfirst).
    return format_html(
        '<ul class="messagelist">{}</ul>',
        format_html_join(
            "", '<li class="{}">{}</li>', ((level, capfirst(text)) for level, text in lines)
        ),
    )
