"""The people the system tests act as: an operator (API token, and a browser signed in to the
admins), delegators, and a funding round open for ballots."""

from __future__ import annotations

import dataclasses
import re
import uuid
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from http.cookiejar import CookieJar
from typing import Any
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, OpenerDirector, Request, build_opener

from shared_events.core.testing import wait_until
from tests.system.harness import Platform

PASSWORD = "a-long-enough-passphrase-42"


@dataclasses.dataclass
class Operator:
    id: str
    email: str
    token: str


def create_operator(platform: Platform) -> Operator:
    email = f"operator-{uuid.uuid4().hex[:8]}@example.com"
    created = platform.manage(
        "accounts", "createoperator", "--email", email, "--password", PASSWORD
    )
    assert created.returncode == 0, created.stdout + created.stderr
    tokens = platform.api("POST", "accounts", "token/", {"email": email, "password": PASSWORD})
    assert tokens.status == 200, tokens
    me = platform.api("GET", "accounts", "me/", token=tokens.body["access"])
    return Operator(me.body["id"], email, tokens.body["access"])


@dataclasses.dataclass
class Round:
    poll_id: str
    causes: list[str]


def open_round(
    platform: Platform,
    operator: Operator,
    *,
    minutes: float = 30,
    n_causes: int = 3,
    visibility: str = "live",
) -> Round:
    """Causes and a poll that opens in a few seconds and stays open `minutes`; returns once
    voting knows it is open."""
    causes = create_causes(platform, operator, [f"Cause {i + 1}" for i in range(n_causes)])
    opens_at = datetime.now(UTC) + timedelta(seconds=2)
    poll_id = schedule_poll(
        platform,
        operator,
        {
            "title": "Fault round",
            "fund_lovelace": 1_000_000_000,
            "opens_at": opens_at.isoformat(),
            "closes_at": (opens_at + timedelta(minutes=minutes)).isoformat(),
            "causes": causes,
            "results_visibility": visibility,
        },
    )
    wait_until(
        lambda: (
            platform.api("GET", "voting", f"polls/{poll_id}/tally/", token=operator.token).status
            == 200
            and _voting_poll_status(platform, poll_id) == "open"
        ),
        timeout=40,
        interval=0.2,
        message="voting to see the poll open",
    )
    return Round(poll_id, causes)


def create_causes(platform: Platform, operator: Operator, titles: list[str]) -> list[str]:
    """A cause per title; their ids."""
    causes = []
    for title in titles:
        response = platform.api("POST", "polls", "causes/", {"title": title}, token=operator.token)
        assert response.status == 201, response
        causes.append(response.body["id"])
    return causes


def schedule_poll(platform: Platform, operator: Operator, fields: dict[str, Any]) -> str:
    """A poll made of `fields` (polls' API) and scheduled, to open at its opens_at; its id."""
    poll = platform.api("POST", "polls", "polls/", fields, token=operator.token)
    assert poll.status == 201, poll
    poll_id = poll.body["id"]
    scheduled = platform.api("POST", "polls", f"polls/{poll_id}/schedule/", token=operator.token)
    assert scheduled.status == 200, scheduled
    return poll_id


def _voting_poll_status(platform: Platform, poll_id: str) -> str | None:
    result = platform.manage(
        "voting",
        "shell",
        "-c",
        "from voting.models import PollReplica as P; "
        f"print('STATUS', P.objects.get(pk='{poll_id}').status)",
    )
    for line in result.stdout.splitlines():
        if line.startswith("STATUS "):
            return line.split()[1]
    return None


def admin_browser(
    platform: Platform, operator: Operator, service: str, path: str = ""
) -> tuple[OpenerDirector, str]:
    """A cookie-keeping browser signed in as the operator: it opens `service`'s admin page
    `path`, is sent to accounts' login, signs in there (the one password), and lands back.
    Returns the browser and the landed page's HTML."""
    browser = build_opener(HTTPCookieProcessor(CookieJar()))
    with browser.open(platform.url(service, f"admin/{path}"), timeout=15) as page:
        login_url, html = page.url, page.read().decode()
    if service != "accounts" or "login" in login_url:
        assert login_url.startswith(platform.url("accounts", "admin/login/")), login_url
        form = urlencode(
            {
                "csrfmiddlewaretoken": csrf_token(html),
                "username": operator.email,
                "password": PASSWORD,
            }
        ).encode()
        with browser.open(
            Request(login_url, data=form, headers={"Referer": login_url}), timeout=15
        ) as page:
            landed, html = page.url, page.read().decode()
        assert landed.startswith(platform.url(service, "admin/")), (landed, html[:500])
    return browser, html


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, html[:1000]
    return match[1]


def post_form(browser: OpenerDirector, url: str, fields: dict[str, Any]) -> tuple[str, str]:
    data = urlencode(fields, doseq=True).encode()
    with browser.open(Request(url, data=data, headers={"Referer": url}), timeout=30) as page:
        return page.url, page.read().decode()


class _FormReader(HTMLParser):
    """What a browser would submit from one <form>: its inputs with their values, checked
    boxes only, each select's selected option, each textarea's text (submit buttons left out:
    the caller says which one it presses)."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.found = form_id, False, False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._first_option: str | None = None
        self._selected = False
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = self.found = True
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((name, a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and name:
            self._select, self._first_option, self._selected = name, None, False
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._first_option is None:
                self._first_option = value
            if "selected" in a and not self._selected:
                self.fields.append((self._select, value))
                self._selected = True
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_endtag(self, tag: str) -> None:
        if not self.inside:
            return
        if tag == "select" and self._select is not None:
            if not self._selected and self._first_option is not None:
                self.fields.append((self._select, self._first_option))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, "".join(self._text).lstrip("\n")))
            self._textarea = None
        elif tag == "form":
            self.inside = False

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)


def form_fields(html: str, form_id: str) -> dict[str, str]:
    """The fields a browser would send from the form `form_id` of `html`, as it stands."""
    reader = _FormReader(form_id)
    reader.feed(html)
    assert reader.found, f"no form {form_id!r} in {html[:1000]}"
    return dict(reader.fields)
