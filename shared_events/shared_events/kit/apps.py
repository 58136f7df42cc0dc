from django.apps import AppConfig


class PlatformKitConfig(AppConfig):
    """An app for its templates (the browsable API's header) and the admin's branding."""

    name = "shared_events.kit"
    label = "shared_events_kit"
    verbose_name = "Platform kit"

    def ready(self) -> None:
        self._brand_the_admin()

    def _brand_the_admin(self) -> None:
        from django.conf import settings
        from django.contrib import admin
        from django.contrib.auth.models import Group, User

        service = getattr(settings, "SERVICE_NAME", None)
        if not service:
            return
        admin.site.site_header = f"Charity vote · {service}"
        admin.site.site_title = f"{service} admin"
        admin.site.index_title = f"{service} administration"
        # Roles, not groups, decide what an operator may do; and outside accounts the users
        # are only sign-on shadows of accounts (operators are managed there).
        hidden = (Group, User) if getattr(settings, "ADMIN_SSO", False) else (Group,)
        for model in hidden:
            if admin.site.is_registered(model):
                admin.site.unregister(model)
