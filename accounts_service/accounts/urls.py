from django.urls import path

from . import apis

urlpatterns = [
    path("register/", apis.RegisterApi.as_view(), name="register"),
    path("token/", apis.TokenObtainApi.as_view(), name="token"),
    path("token/refresh/", apis.TokenRefreshApi.as_view(), name="token-refresh"),
    path("logout/", apis.LogoutApi.as_view(), name="logout"),
    path("me/", apis.MeApi.as_view(), name="me"),
    path("me/ledger/", apis.MeLedgerApi.as_view(), name="me-ledger"),
    path("accounts/", apis.AccountListApi.as_view(), name="account-list"),
    path("accounts/<uuid:account_id>/", apis.AccountDetailApi.as_view(), name="account-detail"),
    path("accounts/<uuid:account_id>/points/", apis.AccountPointsApi.as_view(),
         name="account-points"),
]
