"""Every refused sign-in costs what a successful one does: one password hash, so the time of
an answer does not tell an attacker which emails have an account. Counted, not timed."""

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.cache import cache

from accounts.services import account_register, account_set_active, operator_create

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


class CountingHasher(MD5PasswordHasher):
    """The test hasher, counting how often a password is hashed (encode is what both hashing
    a new password and verifying one run)."""

    calls = 0

    def encode(self, password, salt):
        type(self).calls += 1
        return super().encode(password, salt)


@pytest.fixture(autouse=True)
def counting_hasher(settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    cache.clear()  # the form sign-ins' failure counters


@pytest.fixture
def accounts(db):
    deactivated = account_register(email="gone@example.org", password=PASSWORD)
    account_set_active(account=deactivated, is_active=False)
    return {
        "active": account_register(email="dee@example.org", password=PASSWORD),
        "deactivated": deactivated,
        "passwordless": operator_create(email="sso@example.org", password=None),
    }


REFUSALS = {
    "unknown email": ("nobody@example.org", PASSWORD),
    "wrong password": ("dee@example.org", "not the password"),
    "deactivated, right password": ("gone@example.org", PASSWORD),
    "deactivated, wrong password": ("gone@example.org", "not the password"),
    "unusable password": ("sso@example.org", PASSWORD),
}


def hashes_during(sign_in) -> int:
    CountingHasher.calls = 0
    sign_in()
    return CountingHasher.calls


@pytest.mark.parametrize("refusal", REFUSALS)
def test_every_refused_token_request_hashes_once_as_a_success_does(api, accounts, refusal):
    email, password = REFUSALS[refusal]
    answers = []

    def sign_in(email=email, password=password):
        answers.append(
            api.post("/accounts/api/token/", {"email": email, "password": password}, format="json")
        )

    assert hashes_during(lambda: sign_in("dee@example.org", PASSWORD)) == 1
    assert hashes_during(sign_in) == 1
    assert [a.status_code for a in answers] == [200, 401]
    assert answers[1].json()["detail"] == "No active account with these credentials."


@pytest.mark.parametrize("form", ["/accounts/api/auth/login/", "/accounts/admin/login/"])
@pytest.mark.parametrize("refusal", REFUSALS)
def test_every_refused_form_sign_in_hashes_once(client, accounts, form, refusal):
    email, password = REFUSALS[refusal]
    answers = []
    assert (
        hashes_during(
            lambda: answers.append(client.post(form, {"username": email, "password": password}))
        )
        == 1
    )
    assert answers[0].status_code == 200  # the form again, with its error
    assert b"correct email and password" in answers[0].content
