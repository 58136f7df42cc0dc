from django.contrib import admin

from . import services
from .models import Cause


@admin.register(Cause)
class CauseAdmin(admin.ModelAdmin):
    list_display = ("title", "is_active", "url", "updated_at")
    list_filter = ("is_active",)
    search_fields = ("title", "description")
    fields = ("title", "description", "url", "image_url", "is_active")

    def save_model(self, request, obj, form, change):
        # Through the service, like every other write.
        data = {f: form.cleaned_data[f] for f in services.CAUSE_FIELDS if f in form.cleaned_data}
        saved = services.cause_update(cause=obj, **data) if change else services.cause_create(
            **data)
        obj.pk = saved.pk

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # causes are deactivated, so past polls keep them
