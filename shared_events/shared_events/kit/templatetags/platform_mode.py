"""The admin index's word on the mode (kit/chain_mode.py), for polls and voting: an operator
sees the open mode on the first page. accounts says it with its chain source's state
(accounts/templatetags/chain_mode.py)."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import capfirst

from ..chain_mode import mode_summary, open_eligibility

register = template.Library()


@register.simple_tag
def platform_mode_message() -> SafeString:
    # As the admin shows its own messages (capfirst).
    return format_html(
        '<ul class="messagelist"><li class="{}">{}</li></ul>',
        "warning" if open_eligibility() else "info",
        capfirst(mode_summary()),
    )
