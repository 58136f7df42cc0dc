"""accounts_service settings: the shared twelve-factor base plus what only accounts has."""

from pathlib import Path

from shared_events.kit.identity.keys import load_private_key
from shared_events.kit.service_settings import configure, env

BASE_DIR = Path(__file__).resolve().parent.parent

configure(
    globals(),
    service="accounts",
    base_dir=BASE_DIR,
    apps=["accounts"],
    produces=("accounts",),
    rest_authentication=(
        "accounts.authentication.AccountJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ),
    extra_beat_schedule={
        "purge-expired-refresh-tokens": {
            "task": "accounts.purge_expired_refresh_tokens", "schedule": 3600.0},
        "accrue-epoch-points": {
            "task": "accounts.accrue_epoch_points",
            "schedule": float(env("EPOCH_ACCRUAL_INTERVAL_SECONDS", "60")),
            "options": {"expires": 30},
        },
    },
    api_description="Register, sign in (JWT), manage your profile and read your points ledger. "
    "Operators manage accounts and adjust points.",
)

AUTH_USER_MODEL = "accounts.Account"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Only accounts_service holds the private key; the public half is in JWT_PUBLIC_KEYS everywhere.
JWT_SIGNING_KEY_ID, JWT_SIGNING_KEY = load_private_key(VAR_DIR)  # noqa: F821 (set by configure)
JWT_ACCESS_TTL_SECONDS = int(env("JWT_ACCESS_TTL_SECONDS", "900"))
JWT_REFRESH_TTL_SECONDS = int(env("JWT_REFRESH_TTL_SECONDS", str(14 * 24 * 3600)))
# The browsable API's sign-in cookie (an access token too, shared by all services on a host).
JWT_BROWSER_TTL_SECONDS = int(env("JWT_BROWSER_TTL_SECONDS", str(2 * 3600)))

# A new delegator can vote before the next epoch credits them (issue: voting power).
POINTS_INITIAL_GRANT = int(env("POINTS_INITIAL_GRANT", "100"))

# Voting power grows every Cardano epoch (accounts/services/accrual.py; the epoch clock's
# settings are every service's, shared_events/kit/service_settings.py).
POINTS_PER_EPOCH = int(env("POINTS_PER_EPOCH", "1"))
