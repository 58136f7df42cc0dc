from django.urls import path

from . import apis

urlpatterns = [
    path("me/", apis.MeApi.as_view(), name="me"),
    path("me/ballots/", apis.MyBallotsApi.as_view(), name="my-ballots"),
    path("polls/<uuid:poll_id>/ballot/", apis.BallotApi.as_view(), name="ballot"),
    path("polls/<uuid:poll_id>/ballot/revisions/", apis.BallotRevisionsApi.as_view(),
         name="ballot-revisions"),
    path("polls/<uuid:poll_id>/tally/", apis.TallyApi.as_view(), name="tally"),
    path("polls/<uuid:poll_id>/receipts/", apis.PollReceiptsApi.as_view(), name="receipts"),
    path("receipts/<str:receipt>/", apis.ReceiptApi.as_view(), name="receipt"),
]
