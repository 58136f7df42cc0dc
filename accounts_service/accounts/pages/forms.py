"""The sign-in page's two ways in, as forms so that failures are counted the same way:
FailureThrottleMixin (accounts/signin.py), per client address and per email or stake address."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from shared_events.kit.errors import Refused

from .. import services
from ..chain.stake_proof import MAX_KEY_HEX, MAX_SIGNATURE_HEX
from ..signin import FailureThrottleMixin, ThrottledAuthenticationForm, _limit
from ..stake_address import normalize_stake_address
from ..throttles import client_address


class EmailSignInForm(ThrottledAuthenticationForm):
    """Email and password (Django's AuthenticationForm: one password hash per attempt, found
    or not, so the answer's timing does not tell which emails have an account)."""

    error_messages = {
        **ThrottledAuthenticationForm.error_messages,
        # Emails are matched whatever their case: Django's wording says they may not be.
        "invalid_login": _("Wrong email or password."),
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("Email")
        # No autofocus: a keyboard or screen-reader user meets the skip link and the header
        # first, as on every other page.
        self.fields["username"].widget = forms.EmailInput(
            attrs={"autocomplete": "email", "maxlength": 254}
        )
        self.fields["password"].label = _("Password")

    def clean_username(self) -> str:
        # Emails are stored lower-case (services.normalize_email), as the token API looks them up.
        return (self.cleaned_data.get("username") or "").strip().lower()


class WalletProofForm(forms.Form):
    """A signed wallet challenge (accounts/api/wallet/challenge/): the account of the stake
    address that signed it, made on first use (services.wallet_sign_in)."""

    challenge_id = forms.UUIDField()
    signature = forms.CharField(max_length=MAX_SIGNATURE_HEX)
    key = forms.CharField(max_length=MAX_KEY_HEX)
    # What the wallet said its address is: the failure counter's key, as the email is for
    # a password (the proof itself names the address that counts).
    stake_address = forms.CharField(max_length=120, required=False)

    def __init__(self, *args, request=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        self.account = None

    def clean(self):  # type: ignore[override]
        data = super().clean()
        if self.errors:
            return data
        try:
            self.account = services.wallet_sign_in(
                challenge_id=data["challenge_id"], signature=data["signature"], key=data["key"]
            )
        except Refused as refused:
            raise ValidationError(str(refused), code="refused") from None
        return data


class WalletSignInForm(FailureThrottleMixin, WalletProofForm):
    """The proof, its failures counted per client address and per stake address."""

    def _keys(self) -> list[tuple[str, int]]:
        address = client_address(self.request) if self.request else ""
        raw = (self.data.get("stake_address") or "").strip()
        try:
            stake = normalize_stake_address(raw)
        except ValidationError:
            stake = raw.lower()[:120]
        return [
            (f"signin-failures:addr:{address}", _limit("login")),
            (f"signin-failures:stake:{stake}", _limit("login_stake_address")),
        ]
