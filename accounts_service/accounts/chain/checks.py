"""A chain source that cannot work is said when the service starts (`manage.py check`, migrate,
runserver), not first found by the sync task an hour later."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured


@register()
def chain_source_configured(app_configs, **kwargs) -> list[Error]:
    from ..services.stake_history import configured_pool_id
    from .sources import configured_source

    try:
        configured_source()
        if settings.CHAIN_SOURCE != "none":  # configured_source refused an unknown one
            configured_pool_id()
    except ImproperlyConfigured as problem:
        return [
            Error(
                str(problem),
                hint="See the Configuration section of the README.",
                id="accounts.E101",
            )
        ]
    return []
