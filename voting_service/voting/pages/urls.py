"""The pages' paths, under voting's prefix beside its API (`/voting/`, `/voting/polls/<id>/`…)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.open_polls, name="pages-polls"),
    path("polls/<uuid:poll_id>/", views.poll_ballot, name="pages-poll"),
    path("polls/<uuid:poll_id>/results/", views.poll_results, name="pages-poll-results"),
    path("history/", views.history, name="pages-history"),
    path("results/", views.past_rounds, name="pages-results"),
]
