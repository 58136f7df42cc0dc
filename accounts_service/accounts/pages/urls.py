"""The pages' routes, under accounts' prefix beside api/ and admin/."""

from django.urls import path

from . import me, signin

urlpatterns = [
    path("signin/", signin.signin_page, name="signin"),
    path("signin/wallet/", signin.wallet_signin, name="signin-wallet"),
    path("me/", me.me_page, name="me-page"),
]
