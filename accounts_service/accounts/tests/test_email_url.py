"""EMAIL_URL: the schemes the README names, read by dj-email-url, and a clear error for others."""

import pytest

from accounts.notifications.email_url import EmailUrlError, email_settings

SMTP = "django.core.mail.backends.smtp.EmailBackend"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "smtp://user:p%40ss@mail.example:2525",
            {
                "EMAIL_BACKEND": SMTP,
                "EMAIL_HOST": "mail.example",
                "EMAIL_PORT": 2525,
                "EMAIL_HOST_USER": "user",
                "EMAIL_HOST_PASSWORD": "p@ss",
                "EMAIL_USE_TLS": False,
            },
        ),
        (
            "smtp+tls://user:pw@mail.example",
            {
                "EMAIL_BACKEND": SMTP,
                "EMAIL_PORT": 587,
                "EMAIL_USE_TLS": True,
                "EMAIL_USE_SSL": False,
            },
        ),
        (
            "smtp+ssl://mail.example?timeout=7",
            {"EMAIL_BACKEND": SMTP, "EMAIL_PORT": 465, "EMAIL_USE_SSL": True, "EMAIL_TIMEOUT": 7},
        ),
        ("console://", {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}),
        (
            "file:///srv/mail",
            {
                "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
                "EMAIL_FILE_PATH": "/srv/mail",
            },
        ),
    ],
)
def test_each_scheme_gives_its_settings(url, expected):
    parsed = email_settings(url)
    assert {k: parsed.get(k) for k in expected} == expected


@pytest.mark.parametrize(
    "url", ["smtps2://x", "memory://", "mailto:x@example.org", "file://relative"]
)
def test_another_scheme_or_a_relative_folder_is_refused_by_name(url):
    with pytest.raises(EmailUrlError, match="EMAIL_URL"):
        email_settings(url)


def test_the_embedded_default_writes_files_under_var_mail(settings):
    # (pytest-django swaps the backend for its in-memory one; the rest is the settings')
    assert settings.EMAIL_URL == f"file://{settings.VAR_DIR / 'mail'}"
    assert settings.EMAIL_FILE_PATH == str(settings.VAR_DIR / "mail")
