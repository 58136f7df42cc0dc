"""An operator types their password once, in accounts' admin, and is signed in to the polls and
voting admins too: each on its own port under `manage_all.py up`, so the services must know
each other's public URL (manage_all sets <SERVICE>_PUBLIC_URL)."""

from __future__ import annotations

import re
import uuid
from http.cookiejar import CookieJar
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, Request, build_opener

from tests.system.harness import Platform

PASSWORD = "a-long-enough-passphrase-42"


def test_one_sign_in_opens_every_admin(platform: Platform):
    email = f"operator-{uuid.uuid4().hex[:8]}@example.com"
    created = platform.manage(
        "accounts", "createoperator", "--email", email, "--password", PASSWORD
    )
    assert created.returncode == 0, created.stdout + created.stderr
    browser = build_opener(HTTPCookieProcessor(CookieJar()))

    # 1. The polls admin sends a stranger to the accounts admin's login page.
    with browser.open(platform.url("polls", "admin/"), timeout=10) as page:
        login_url, html = page.url, page.read().decode()
    assert login_url.startswith(platform.url("accounts", "admin/login/")), login_url
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert csrf, html[:500]

    # 2. They sign in there, once, and land in the polls admin, signed in.
    form = urlencode(
        {"csrfmiddlewaretoken": csrf[1], "username": email, "password": PASSWORD}
    ).encode()
    with browser.open(
        Request(login_url, data=form, headers={"Referer": login_url}), timeout=10
    ) as page:
        landed, html = page.url, page.read().decode()
    assert landed == platform.url("polls", "admin/"), (landed, html[:500])
    assert "Log out" in html or "logout" in html, html[:500]

    # 3. The voting admin needs no password any more: the accounts session vouches for them.
    with browser.open(platform.url("voting", "admin/"), timeout=10) as page:
        landed, html = page.url, page.read().decode()
    assert landed == platform.url("voting", "admin/"), (landed, html[:500])
    assert "logout" in html.lower(), html[:500]
