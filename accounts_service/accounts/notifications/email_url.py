"""The mail backend from one setting, `EMAIL_URL`, parsed by dj-email-url.

The library knows `smtp://`, `console://` and `file://` but not the `smtp+tls://` (STARTTLS)
and `smtp+ssl://` spellings, and reads `file:///abs/path` as a relative path; those two are
given to it in its own words. Imported by the settings module, so nothing Django here."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import dj_email_url

SCHEMES = ("smtp", "smtp+tls", "smtp+ssl", "console", "file")


class EmailUrlError(ValueError):
    pass


def email_settings(url: str) -> dict[str, Any]:
    """The EMAIL_* settings of `url`: smtp://user:pass@host:port, smtp+tls://… (STARTTLS),
    smtp+ssl://… (TLS from the start), console:// or file:///an/absolute/folder."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise EmailUrlError(f"EMAIL_URL scheme {parts.scheme!r} is not one of {', '.join(SCHEMES)}")
    if scheme in ("smtp+tls", "smtp+ssl"):
        flag = "tls=1" if scheme == "smtp+tls" else "ssl=1"
        query = f"{parts.query}&{flag}" if parts.query else flag
        url = urlunsplit(("smtp", parts.netloc, parts.path, query, parts.fragment))
    parsed = dj_email_url.parse(url)
    if scheme == "file":
        folder = Path(parts.netloc + parts.path)
        if not folder.is_absolute():
            raise EmailUrlError("EMAIL_URL file://… needs an absolute folder: file:///srv/mail")
        parsed["EMAIL_FILE_PATH"] = str(folder)
    else:
        parsed.pop("EMAIL_FILE_PATH", None)
    if scheme == "smtp+tls" and not parts.port:
        parsed["EMAIL_PORT"] = 587
    if scheme == "smtp+ssl" and not parts.port:
        parsed["EMAIL_PORT"] = 465
    return {k: v for k, v in parsed.items() if v is not None}
