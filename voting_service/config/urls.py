from shared_events.kit.api import json_not_found, json_server_error
from shared_events.kit.service_urls import service_urlpatterns
from voting import urls as api_urls
from voting.pages import urls as page_urls

urlpatterns = service_urlpatterns(api_urls.urlpatterns, site_patterns=page_urls.urlpatterns)
handler404 = json_not_found
handler500 = json_server_error
