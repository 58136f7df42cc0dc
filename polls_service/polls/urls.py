from django.urls import path

from . import apis

urlpatterns = [
    path("causes/", apis.CauseListApi.as_view(), name="cause-list"),
    path("causes/<uuid:cause_id>/", apis.CauseDetailApi.as_view(), name="cause-detail"),
]
