from django.urls import path

from accounts import urls as api_urls
from accounts.pages import urls as page_urls
from accounts.signin import BrowserLoginView, browser_logout
from accounts.sso import admin_sso_start
from shared_events.kit.api import json_not_found, json_server_error
from shared_events.kit.service_urls import service_urlpatterns

urlpatterns = service_urlpatterns(
    api_urls.urlpatterns,
    site_patterns=[
        path("sso/admin/", admin_sso_start, name="admin-sso"),
        *page_urls.urlpatterns,
    ],
    browser_auth_patterns=[
        path("login/", BrowserLoginView.as_view(), name="login"),
        path("logout/", browser_logout, name="logout"),
    ],
)
handler404 = json_not_found
handler500 = json_server_error
