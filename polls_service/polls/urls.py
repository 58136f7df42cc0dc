from django.urls import path

from .apis import causes, payouts, polls, results

urlpatterns = [
    path("causes/", causes.CauseListApi.as_view(), name="cause-list"),
    path("causes/<uuid:cause_id>/", causes.CauseDetailApi.as_view(), name="cause-detail"),
    path("polls/", polls.PollListApi.as_view(), name="poll-list"),
    path("polls/<uuid:poll_id>/", polls.PollDetailApi.as_view(), name="poll-detail"),
    path("polls/<uuid:poll_id>/results/", results.PollResultsApi.as_view(), name="poll-results"),
    path("polls/<uuid:poll_id>/payouts/", payouts.PollPayoutsApi.as_view(), name="poll-payouts"),
    path(
        "polls/<uuid:poll_id>/payouts/<uuid:payout_id>/confirm/",
        payouts.PayoutConfirmApi.as_view(),
        name="payout-confirm",
    ),
    path("polls/<uuid:poll_id>/schedule/", polls.PollScheduleApi.as_view(), name="poll-schedule"),
    path("polls/<uuid:poll_id>/close/", polls.PollCloseApi.as_view(), name="poll-close"),
    path("polls/<uuid:poll_id>/cancel/", polls.PollCancelApi.as_view(), name="poll-cancel"),
]
