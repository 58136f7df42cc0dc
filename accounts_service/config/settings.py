"""accounts_service settings: the shared twelve-factor base plus what only accounts has."""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from accounts.notifications.email_url import EmailUrlError, email_settings
from shared_events.kit.chain_clients.settings import chain_client_settings
from shared_events.kit.identity.keys import load_private_key
from shared_events.kit.service_settings import configure, env, env_count

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
            "task": "accounts.purge_expired_refresh_tokens",
            "schedule": 3600.0,
        },
        "purge-expired-stake-challenges": {
            "task": "accounts.purge_expired_stake_challenges",
            "schedule": 3600.0,
        },
        "accrue-epoch-points": {
            "task": "accounts.accrue_epoch_points",
            "schedule": float(env("EPOCH_ACCRUAL_INTERVAL_SECONDS", "60")),
            "options": {"expires": 30},
        },
        # Polls that close within NOTIFY_CLOSING_SOON_SECONDS get their "you have not voted"
        # notices; notices whose send task was lost are sent again (each at most once).
        "notices-sweep": {
            "task": "accounts.notices_sweep",
            "schedule": float(env("NOTIFY_SWEEP_INTERVAL_SECONDS", "60")),
            "options": {"expires": 50},
        },
        "sync-stake-history": {
            "task": "accounts.sync_stake_history",
            "schedule": float(env("CHAIN_SYNC_INTERVAL_SECONDS", "3600")),
            "options": {"expires": 600},
        },
    },
    metrics_scrape_time=("accounts.metrics_scrape.refresh",),
    api_description="Register, sign in (JWT) with a password or a Cardano wallet, prove your "
    "stake address with a CIP-8 signature, manage your profile and read your points ledger. "
    "Operators manage accounts and adjust points.",
)

AUTH_USER_MODEL = "accounts.Account"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
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

# The pool's stake distribution per epoch (accounts/chain/sources), from the source that
# CHAIN_SOURCE names (read for every service by shared_events.kit.service_settings).
POOL_ID = env("POOL_ID", "")  # bech32 pool1…
# BLOCKFROST_*, KOIOS_*, CHAIN_SOURCE_* and CARDANO_NETWORK: the chain clients' settings, read
# the same way by polls (payout transactions).
chain_client_settings(globals())
# How many epochs back, the current one included, the history is kept complete (loyalty counts
# consecutive epochs in the pool, so it can see this far at most).
LOYALTY_BACKFILL_EPOCHS = env_count("LOYALTY_BACKFILL_EPOCHS", 18)
if LOYALTY_BACKFILL_EPOCHS < 1:
    raise ImproperlyConfigured("LOYALTY_BACKFILL_EPOCHS must be at least 1 (the current epoch)")
# A source completes an epoch's distribution in its first hours; a younger epoch waits.
CHAIN_EPOCH_SETTLE_SECONDS = env_count("CHAIN_EPOCH_SETTLE_SECONDS", 6 * 3600)
# The longest one sync may run (a first backfill pages through every epoch of the window).
CHAIN_SYNC_TIME_LIMIT_SECONDS = env_count("CHAIN_SYNC_TIME_LIMIT_SECONDS", 3600)

# Proofs of stake addresses (accounts/chain/stake_proof.py): the network whose addresses count
# is CARDANO_NETWORK (above); the domain the signed text names (empty: the host the request
# came to), and how long a challenge may wait for its signature.
STAKE_PROOF_DOMAIN = env("STAKE_PROOF_DOMAIN", "")
STAKE_PROOF_CHALLENGE_TTL_SECONDS = int(env("STAKE_PROOF_CHALLENGE_TTL_SECONDS", "300"))
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].update(  # noqa: F821 (set by configure)
    {
        # Wallet sign-in per stake address, as password sign-in is counted per email.
        "login_stake_address": env("THROTTLE_LOGIN_STAKE_ADDRESS", "5/min"),
        # Linking a stake address, per account.
        "stake_proof": env("THROTTLE_STAKE_PROOF", "10/min"),
        # Links that confirm an address for notifications, per account.
        "confirm_email": env("THROTTLE_CONFIRM_EMAIL", "5/hour"),
    }
)

# Email notifications (accounts/notifications, README "Notifications by email"). The backend
# from one URL; the embedded default writes each message as a file under var/mail/.
EMAIL_URL = env("EMAIL_URL", f"file://{VAR_DIR / 'mail'}")  # noqa: F821 (set by configure)
try:
    globals().update(email_settings(EMAIL_URL))
except EmailUrlError as exc:
    raise ImproperlyConfigured(str(exc)) from exc
# An SMTP connection's timeout: EMAIL_URL's ?timeout= if given.
EMAIL_TIMEOUT = globals().get("EMAIL_TIMEOUT") or int(env("EMAIL_TIMEOUT_SECONDS", "20"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Charity vote <noreply@localhost>")
# Celery's rate_limit on the send task, per worker: a batch of NOTIFY_BATCH_SIZE messages goes
# over one SMTP connection, and at most NOTIFY_EMAILS_PER_MINUTE messages leave a worker.
NOTIFY_EMAILS_PER_MINUTE = env_count("NOTIFY_EMAILS_PER_MINUTE", 600)
NOTIFY_BATCH_SIZE = env_count("NOTIFY_BATCH_SIZE", 50)
if NOTIFY_EMAILS_PER_MINUTE < 1 or NOTIFY_BATCH_SIZE < 1:
    raise ImproperlyConfigured("NOTIFY_EMAILS_PER_MINUTE and NOTIFY_BATCH_SIZE must be at least 1")
NOTIFY_SEND_ATTEMPTS = env_count("NOTIFY_SEND_ATTEMPTS", 6)  # per batch, the first included
# A notice still pending this long after it was queued lost its task: the sweep queues it again.
NOTIFY_REQUEUE_AFTER_SECONDS = env_count("NOTIFY_REQUEUE_AFTER_SECONDS", 3600)
NOTIFY_CLOSING_SOON_SECONDS = env_count("NOTIFY_CLOSING_SOON_SECONDS", 24 * 3600)
# How long the link that confirms an email address stays good.
NOTIFY_CONFIRM_MAX_AGE_SECONDS = env_count("NOTIFY_CONFIRM_MAX_AGE_SECONDS", 3 * 24 * 3600)
