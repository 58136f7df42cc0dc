from django.urls import path

from .apis import accounts, auth, me, notifications, wallet

urlpatterns = [
    path("register/", auth.RegisterApi.as_view(), name="register"),
    path("token/", auth.TokenObtainApi.as_view(), name="token"),
    path("token/refresh/", auth.TokenRefreshApi.as_view(), name="token-refresh"),
    path("logout/", auth.LogoutApi.as_view(), name="logout"),
    path("me/", me.MeApi.as_view(), name="me"),
    path("me/ledger/", me.MeLedgerApi.as_view(), name="me-ledger"),
    path(
        "me/notifications/",
        notifications.NotificationSettingsApi.as_view(),
        name="me-notifications",
    ),
    path(
        "me/notifications/confirm-email/",
        notifications.ConfirmEmailRequestApi.as_view(),
        name="me-notifications-confirm-email",
    ),
    path(
        "me/notifications/confirm/",
        notifications.ConfirmEmailApi.as_view(),
        name="me-notifications-confirm",
    ),
    path(
        "notifications/unsubscribe/<str:token>/",
        notifications.UnsubscribeApi.as_view(),
        name="notifications-unsubscribe",
    ),
    path(
        "me/stake-address/challenge/",
        wallet.MeStakeAddressChallengeApi.as_view(),
        name="me-stake-address-challenge",
    ),
    path(
        "me/stake-address/verify/",
        wallet.MeStakeAddressVerifyApi.as_view(),
        name="me-stake-address-verify",
    ),
    path("wallet/challenge/", wallet.WalletChallengeApi.as_view(), name="wallet-challenge"),
    path("wallet/token/", wallet.WalletTokenApi.as_view(), name="wallet-token"),
    path("accounts/", accounts.AccountListApi.as_view(), name="account-list"),
    path("accounts/<uuid:account_id>/", accounts.AccountDetailApi.as_view(), name="account-detail"),
    path(
        "accounts/<uuid:account_id>/points/",
        accounts.AccountPointsApi.as_view(),
        name="account-points",
    ),
]
