from django.urls import path

from .apis import ballots, power, receipts, tallies, voters

urlpatterns = [
    path("me/", voters.MeApi.as_view(), name="me"),
    path("me/ballots/", ballots.MyBallotsApi.as_view(), name="my-ballots"),
    path("polls/<uuid:poll_id>/ballot/", ballots.BallotApi.as_view(), name="ballot"),
    path(
        "polls/<uuid:poll_id>/ballot/revisions/",
        receipts.BallotRevisionsApi.as_view(),
        name="ballot-revisions",
    ),
    path("polls/<uuid:poll_id>/power/", power.PowerApi.as_view(), name="power"),
    path("polls/<uuid:poll_id>/power/table/", power.PowerTableApi.as_view(), name="power-table"),
    path("polls/<uuid:poll_id>/tally/", tallies.TallyApi.as_view(), name="tally"),
    path("polls/<uuid:poll_id>/receipts/", receipts.PollReceiptsApi.as_view(), name="receipts"),
    path("receipts/<str:receipt>/", receipts.ReceiptApi.as_view(), name="receipt"),
]
