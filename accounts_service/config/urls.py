from django.urls import path

from accounts import urls as api_urls
from accounts.sso import admin_sso_start
from shared_events.api import json_not_found, json_server_error
from shared_events.service_urls import service_urlpatterns

urlpatterns = service_urlpatterns(
    api_urls.urlpatterns, site_patterns=[path("sso/admin/", admin_sso_start, name="admin-sso")]
)
handler404 = json_not_found
handler500 = json_server_error
