"""Who may do what, over every endpoint of every service's OpenAPI schema, against the real
processes: anonymous, a delegator, another delegator, a deactivated delegator and an operator;
tokens that are expired, signed by another key or with `alg: none` are refused everywhere; a
delegator never reaches another's ballot or ledger; only operators reach the admins.

The matrix is read against the live schemas: an endpoint without an entry here fails the test,
so a new endpoint cannot ship without saying who may call it.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.cookiejar import CookieJar
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, Request, build_opener

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pycardano import Address, Network, StakeSigningKey

from shared_events.core.testing import wait_until
from shared_events.kit.identity.keys import key_id
from tests.system.actors import (
    PASSWORD,
    Operator,
    Round,
    admin_browser,
    create_operator,
    csrf_token,
    open_round,
)
from tests.system.harness import Platform, Response, http

PERSONAS = ("anon", "alice", "bob", "dee", "op")  # dee: a deactivated delegator


@dataclasses.dataclass
class Person:
    id: str
    email: str
    token: str
    refresh: str


@dataclasses.dataclass
class World:
    op: Operator
    people: dict[str, Person]
    round: Round
    drafts: dict[str, str]  # action -> a draft poll of its own
    cause: str
    receipt: str  # of alice's ballot


def register(platform: Platform) -> Person:
    email = f"authz-{uuid.uuid4().hex[:10]}@example.com"
    registered = platform.api(
        "POST", "accounts", "register/", {"email": email, "password": PASSWORD}
    )
    assert registered.status == 201, registered
    tokens = platform.api("POST", "accounts", "token/", {"email": email, "password": PASSWORD})
    assert tokens.status == 200, tokens
    return Person(registered.body["id"], email, tokens.body["access"], tokens.body["refresh"])


def draft_poll(platform: Platform, op: Operator, causes: list[str]) -> str:
    opens = datetime.now(UTC) + timedelta(hours=1)
    poll = platform.api(
        "POST",
        "polls",
        "polls/",
        {
            "title": "authz draft",
            "fund_lovelace": 5_000_000,
            "opens_at": opens.isoformat(),
            "closes_at": (opens + timedelta(hours=1)).isoformat(),
            "causes": causes,
        },
        token=op.token,
    )
    assert poll.status == 201, poll
    return poll.body["id"]


@pytest.fixture(scope="module")
def world(platform: Platform) -> World:
    op = create_operator(platform)
    round_ = open_round(platform, op)
    people = {name: register(platform) for name in ("alice", "bob", "dee")}
    deactivated = platform.api(
        "PATCH", "accounts", f"accounts/{people['dee'].id}/", {"is_active": False}, token=op.token
    )
    assert deactivated.status == 200, deactivated
    for name, active in (("alice", True), ("bob", True), ("dee", False)):
        wait_until(
            lambda p=people[name], a=active: (
                r := platform.api("GET", "voting", "me/", token=p.token),
                r.status == 200 and r.body["is_active"] is a,
            )[1],
            timeout=30,
            message=f"voting to know {name}",
        )
    cast = platform.api(
        "PUT",
        "voting",
        f"polls/{round_.poll_id}/ballot/",
        {"allocations": [{"cause": round_.causes[0], "points": 60}]},
        token=people["alice"].token,
    )
    assert cast.status == 201, cast
    drafts = {
        a: draft_poll(platform, op, round_.causes) for a in ("patch", "schedule", "close", "cancel")
    }
    return World(op, people, round_, drafts, round_.causes[0], cast.body["receipt"])


# ------------------------------------------------------------------------------ matrix --
# (service, method, schema path) -> (path params, body, {persona: expected status}).
# A body may be a function of the persona (fresh data for each caller).


def _matrix(w: World) -> dict[tuple[str, str, str], tuple[dict, Any, dict[str, int]]]:
    a, b = w.people["alice"], w.people["bob"]
    poll, cause = w.round.poll_id, w.cause
    anon401 = {"anon": 401}
    ops_only = {**anon401, "alice": 403, "bob": 403, "dee": 403}
    acc_ops_only = {**ops_only, "dee": 401}  # accounts loads the account: deactivated is 401
    acc_any = {**anon401, "alice": 200, "bob": 200, "dee": 401, "op": 200}
    everyone = {**anon401, "alice": 200, "bob": 200, "dee": 200, "op": 200}

    def fresh_email(_: str) -> dict:
        return {"email": f"authz-{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD}

    def fresh_stake_address(_: str) -> dict:
        key_hash = StakeSigningKey.generate().to_verification_key().hash()
        return {"stake_address": str(Address(staking_part=key_hash, network=Network.MAINNET))}

    def no_challenge(_: str) -> dict:
        return {"challenge_id": str(uuid.uuid4()), "signature": "84", "key": "a0"}

    def new_poll(_: str) -> dict:
        opens = datetime.now(UTC) + timedelta(hours=2)
        return {
            "title": "authz",
            "fund_lovelace": 1_000_000,
            "opens_at": opens.isoformat(),
            "closes_at": (opens + timedelta(hours=1)).isoformat(),
        }

    ballot = {"allocations": [{"cause": cause, "points": 10}]}
    return {
        # accounts
        ("accounts", "POST", "register/"): ({}, fresh_email, dict.fromkeys(PERSONAS, 201)),
        ("accounts", "POST", "token/"): (
            {},
            {"email": "nobody@example.com", "password": "wrong-password-123"},
            dict.fromkeys(PERSONAS, 401),
        ),
        ("accounts", "POST", "token/refresh/"): (
            {},
            {"refresh": "not-a-token"},
            dict.fromkeys(PERSONAS, 401),
        ),
        ("accounts", "POST", "logout/"): (
            {},
            {"refresh": "not-a-token"},
            {**acc_any, "alice": 400, "bob": 400, "op": 400},
        ),
        ("accounts", "GET", "me/"): ({}, None, acc_any),
        ("accounts", "PATCH", "me/"): ({}, {"stake_address": None}, acc_any),
        ("accounts", "GET", "me/ledger/"): ({}, None, acc_any),
        ("accounts", "GET", "me/notifications/"): ({}, None, acc_any),
        ("accounts", "PATCH", "me/notifications/"): ({}, {"poll_opened": False}, acc_any),
        ("accounts", "POST", "me/notifications/confirm-email/"): (
            {},
            None,
            {**acc_any, "alice": 202, "bob": 202, "op": 403},  # notices are for delegators
        ),
        # The emailed links need no sign-in: the signed token in them says who.
        ("accounts", "GET", "me/notifications/confirm/"): ({}, None, dict.fromkeys(PERSONAS, 400)),
        ("accounts", "GET", "notifications/unsubscribe/{token}/"): (
            {"token": "not-signed"},
            None,
            dict.fromkeys(PERSONAS, 200),
        ),
        ("accounts", "POST", "notifications/unsubscribe/{token}/"): (
            {"token": "not-signed"},
            None,
            dict.fromkeys(PERSONAS, 409),
        ),
        ("accounts", "POST", "me/stake-address/challenge/"): (
            {},
            None,
            {**acc_any, "alice": 201, "bob": 201, "op": 201},
        ),
        ("accounts", "POST", "me/stake-address/verify/"): (  # a proof of no challenge: 400
            {},
            no_challenge,
            {**acc_any, "alice": 400, "bob": 400, "op": 400},
        ),
        # Signing in with a wallet is for anyone, as the password sign-in is.
        ("accounts", "POST", "wallet/challenge/"): (
            {},
            fresh_stake_address,
            dict.fromkeys(PERSONAS, 201),
        ),
        ("accounts", "POST", "wallet/token/"): ({}, no_challenge, dict.fromkeys(PERSONAS, 400)),
        ("accounts", "GET", "accounts/"): ({}, None, {**acc_ops_only, "op": 200}),
        ("accounts", "GET", "accounts/{account_id}/"): (
            {"account_id": a.id},
            None,
            {**acc_ops_only, "op": 200},
        ),
        ("accounts", "PATCH", "accounts/{account_id}/"): (
            {"account_id": b.id},
            {"role": "delegator"},
            {**acc_ops_only, "op": 200},
        ),
        ("accounts", "POST", "accounts/{account_id}/points/"): (
            {"account_id": b.id},
            {"delta": 1, "reason": "authz"},
            {**acc_ops_only, "op": 201},
        ),
        # polls: the token is checked with the public key alone; a deactivated delegator's
        # token keeps reading until it expires (15 minutes), and can change nothing.
        ("polls", "GET", "causes/"): ({}, None, everyone),
        ("polls", "POST", "causes/"): ({}, {"title": "authz"}, {**ops_only, "op": 201}),
        ("polls", "GET", "causes/{cause_id}/"): ({"cause_id": cause}, None, everyone),
        ("polls", "PATCH", "causes/{cause_id}/"): (
            {"cause_id": cause},
            {"description": "x"},
            {**ops_only, "op": 200},
        ),
        ("polls", "GET", "polls/"): ({}, None, everyone),
        ("polls", "POST", "polls/"): ({}, new_poll, {**ops_only, "op": 201}),
        ("polls", "GET", "polls/{poll_id}/"): ({"poll_id": poll}, None, everyone),
        ("polls", "PATCH", "polls/{poll_id}/"): (
            {"poll_id": w.drafts["patch"]},
            {"title": "renamed"},
            {**ops_only, "op": 200},
        ),
        ("polls", "POST", "polls/{poll_id}/schedule/"): (
            {"poll_id": w.drafts["schedule"]},
            None,
            {**ops_only, "op": 200},
        ),
        ("polls", "POST", "polls/{poll_id}/close/"): (  # a draft cannot close: 400, not 403
            {"poll_id": w.drafts["close"]},
            None,
            {**ops_only, "op": 400},
        ),
        ("polls", "POST", "polls/{poll_id}/cancel/"): (
            {"poll_id": w.drafts["cancel"]},
            None,
            {**ops_only, "op": 200},
        ),
        ("polls", "GET", "polls/{poll_id}/results/"): ({"poll_id": poll}, None, everyone),
        ("polls", "GET", "polls/{poll_id}/payouts/"): ({"poll_id": poll}, None, everyone),
        ("polls", "POST", "polls/{poll_id}/payouts/"): (  # the round is open: 409, not 403
            {"poll_id": poll},
            {"tx_hash": "ab" * 32},
            {**ops_only, "op": 409},
        ),
        ("polls", "POST", "polls/{poll_id}/payouts/{payout_id}/confirm/"): (
            {"poll_id": poll, "payout_id": uuid.uuid4()},
            {"note": "authz"},
            {**ops_only, "op": 404},
        ),
        # voting: eligibility from its replica, never from the token
        ("voting", "GET", "me/"): ({}, None, everyone),
        ("voting", "GET", "me/ballots/"): ({}, None, everyone),
        ("voting", "GET", "polls/{poll_id}/ballot/"): (  # one's own ballot only
            {"poll_id": poll},
            None,
            {**anon401, "alice": 200, "bob": 404, "dee": 404, "op": 404},
        ),
        ("voting", "PUT", "polls/{poll_id}/ballot/"): (
            {"poll_id": poll},
            ballot,
            {**anon401, "alice": 200, "bob": 201, "dee": 403, "op": 403},
        ),
        ("voting", "DELETE", "polls/{poll_id}/ballot/"): (
            {"poll_id": poll},
            None,
            {**anon401, "alice": 204, "bob": 204, "dee": 403, "op": 403},
        ),
        ("voting", "GET", "polls/{poll_id}/tally/"): ({"poll_id": poll}, None, everyone),
        # Anyone signed in may ask their power (an answer that says why not, if not eligible);
        # the whole table is the operators'.
        ("voting", "GET", "polls/{poll_id}/power/"): ({"poll_id": poll}, None, everyone),
        ("voting", "GET", "polls/{poll_id}/power/table/"): (
            {"poll_id": poll},
            None,
            {**ops_only, "op": 200},
        ),
        ("voting", "GET", "polls/{poll_id}/ballot/revisions/"): (  # one's own history only
            {"poll_id": poll},
            None,
            {**anon401, "alice": 200, "bob": 200, "dee": 404, "op": 404},
        ),  # bob voted above; dee and op never did
        # Published once the poll has closed; this one is open.
        ("voting", "GET", "polls/{poll_id}/receipts/"): (
            {"poll_id": poll},
            None,
            {**anon401, "alice": 403, "bob": 403, "dee": 403, "op": 403},
        ),
        # The receipt is the credential: anyone holding one may check it.
        ("voting", "GET", "receipts/{receipt}/"): (
            {"receipt": w.receipt},
            None,
            dict.fromkeys(PERSONAS, 200),
        ),
    }


def schema_operations(platform: Platform, service: str) -> list[tuple[str, str, bool]]:
    """(METHOD, path under api/, secured) of every operation in the service's live schema."""
    schema = http(
        "GET",
        platform.url(service, "api/schema/?format=json"),
        accept="application/vnd.oai.openapi+json",
    )
    assert schema.status == 200, schema
    body = schema.body if isinstance(schema.body, dict) else json.loads(schema.body)
    prefix = f"/{service}/api/"
    found = []
    for path, operations in body["paths"].items():
        for method, operation in operations.items():
            if method in ("get", "put", "post", "patch", "delete"):
                found.append(
                    (method.upper(), path.removeprefix(prefix), bool(operation.get("security")))
                )
    return found


def call(
    platform: Platform,
    service: str,
    method: str,
    path: str,
    params: dict,
    body: Any,
    token: str | None,
) -> Response:
    return platform.api(method, service, path.format(**params), body, token=token)


def test_every_endpoint_answers_each_persona_as_the_matrix_says(platform: Platform, world: World):
    matrix = _matrix(world)
    listed = {
        (s, m, p)
        for s in ("accounts", "polls", "voting")
        for m, p, _ in schema_operations(platform, s)
    }
    assert not listed - set(matrix), (
        f"endpoints without an authorization entry: {sorted(listed - set(matrix))}"
    )
    assert not set(matrix) - listed, f"entries for no endpoint: {sorted(set(matrix) - listed)}"
    tokens = {"anon": None, **{n: p.token for n, p in world.people.items()}, "op": world.op.token}
    wrong = []
    for (service, method, path), (params, body, expected) in matrix.items():
        for persona in PERSONAS:
            data = body(persona) if callable(body) else body
            got = call(platform, service, method, path, params, data, tokens[persona])
            if got.status != expected[persona]:
                wrong.append(
                    f"{persona} {method} /{service}/api/{path}: {got.status}, "
                    f"expected {expected[persona]} {got}"
                )
    assert not wrong, "\n".join(wrong)


# ------------------------------------------------------------------------ forged tokens --


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _hs256(claims: dict, kid: str, secret: bytes) -> str:
    """The classic confusion: HMAC-signed with the public key as the secret (PyJWT refuses to
    make one, so by hand)."""
    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{_b64(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def forged_tokens(platform: Platform, subject: str, role: str = "operator") -> dict[str, str]:
    jwt_dir = platform.var_dir / "jwt"
    private_pem = (jwt_dir / "private.pem").read_text()
    public_pem = (jwt_dir / "public.pem").read_text()
    kid = key_id(public_pem)
    now = int(time.time())
    claims = {
        "iss": "accounts",
        "aud": "charity-vote",
        "sub": subject,
        "role": role,
        "typ": "access",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 300,
    }
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    genuine = jwt.encode(claims, private_pem, algorithm="RS256", headers={"kid": kid})
    head, _, signature = genuine.split(".")
    return {
        "expired": jwt.encode(
            {**claims, "iat": now - 3600, "exp": now - 600},
            private_pem,
            algorithm="RS256",
            headers={"kid": kid},
        ),
        "another key, our kid": jwt.encode(
            claims, other_pem, algorithm="RS256", headers={"kid": kid}
        ),
        "another key, its kid": jwt.encode(
            claims, other_pem, algorithm="RS256", headers={"kid": "attacker"}
        ),
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{_b64(claims)}.",
        "HS256 with the public key": _hs256(claims, kid, public_pem.encode()),
        "claims edited after signing": f"{head}.{_b64({**claims, 'sub': str(uuid.uuid4())})}"
        f".{signature}",
        "a refresh token as access": jwt.encode(
            {**claims, "typ": "refresh"}, private_pem, algorithm="RS256", headers={"kid": kid}
        ),
        "garbage": "not.a.jwt",
    }


def test_expired_forged_and_unsigned_tokens_get_401_on_every_secured_endpoint(
    platform: Platform, world: World
):
    forged = forged_tokens(platform, world.op.id)
    params = {
        "account_id": world.people["bob"].id,
        "poll_id": world.round.poll_id,
        "cause_id": world.cause,
        "receipt": world.receipt,
        "payout_id": uuid.uuid4(),
    }
    wrong = []
    checked = 0
    for service in ("accounts", "polls", "voting"):
        for method, path, secured in schema_operations(platform, service):
            if not secured:
                continue
            for what, token in forged.items():
                got = call(platform, service, method, path, params, {}, token)
                checked += 1
                if got.status != 401:
                    wrong.append(f"{what}: {method} /{service}/api/{path} -> {got}")
    assert checked > 100 and not wrong, "\n".join(wrong)


# ----------------------------------------------------------------- another one's data --


def test_a_delegator_never_reads_or_changes_another_ones_ballot_or_ledger(
    platform: Platform, world: World
):
    alice, bob = world.people["alice"], world.people["bob"]
    poll = world.round.poll_id
    mine = {"allocations": [{"cause": world.cause, "points": 7}]}
    assert platform.api(
        "PUT", "voting", f"polls/{poll}/ballot/", mine, token=alice.token
    ).status in (200, 201)
    assert platform.api("DELETE", "voting", f"polls/{poll}/ballot/", token=bob.token).status in (
        204,
        404,
    )
    # Bob's requests name only himself: there is no way to say "Alice's ballot".
    assert platform.api("GET", "voting", f"polls/{poll}/ballot/", token=bob.token).status == 404
    assert platform.api("DELETE", "voting", f"polls/{poll}/ballot/", token=bob.token).status == 404
    sneaky = platform.api(
        "PUT", "voting", f"polls/{poll}/ballot/", {**mine, "voter": alice.id}, token=bob.token
    )
    assert sneaky.status == 400 and "voter" in sneaky.body, sneaky
    for ballot in platform.api("GET", "voting", "me/ballots/", token=bob.token).body["results"]:
        assert ballot["poll"] != poll or ballot["retracted"], ballot  # his own, retracted
    # His revision history holds his receipts only, never Alice's.
    alice_receipts = {
        r["receipt"]
        for r in platform.api(
            "GET", "voting", f"polls/{poll}/ballot/revisions/", token=alice.token
        ).body["results"]
    }
    bob_history = platform.api("GET", "voting", f"polls/{poll}/ballot/revisions/", token=bob.token)
    assert alice_receipts and bob_history.status in (200, 404), bob_history
    if bob_history.status == 200:
        assert not alice_receipts & {r["receipt"] for r in bob_history.body["results"]}
    still = platform.api("GET", "voting", f"polls/{poll}/ballot/", token=alice.token)
    assert still.status == 200 and still.body["allocations"] == [
        {"cause": world.cause, "points": 7}
    ], still
    # Ledgers: his own entries only; Alice's account, ledger and refresh token out of reach.
    alice_ledger = {
        e["id"]
        for e in platform.api("GET", "accounts", "me/ledger/", token=alice.token).body["results"]
    }
    bob_ledger = {
        e["id"]
        for e in platform.api("GET", "accounts", "me/ledger/", token=bob.token).body["results"]
    }
    assert alice_ledger and not alice_ledger & bob_ledger
    assert platform.api("GET", "accounts", f"accounts/{alice.id}/", token=bob.token).status == 403
    assert (
        platform.api(
            "POST",
            "accounts",
            f"accounts/{alice.id}/points/",
            {"delta": -50, "reason": "mine now"},
            token=bob.token,
        ).status
        == 403
    )
    edit = platform.api("PATCH", "accounts", "me/", {"id": alice.id}, token=bob.token)
    assert edit.status == 400, edit
    revoke = platform.api(
        "POST", "accounts", "logout/", {"refresh": alice.refresh}, token=bob.token
    )
    assert revoke.status == 400 and "another account" in str(revoke.body), revoke
    # A token for Alice that Bob signed himself is nobody's.
    forged = forged_tokens(platform, alice.id, role="delegator")["another key, our kid"]
    assert platform.api("GET", "voting", f"polls/{poll}/ballot/", token=forged).status == 401
    # The deactivated delegator cannot sign in any more.
    dee = world.people["dee"]
    assert (
        platform.api(
            "POST", "accounts", "token/", {"email": dee.email, "password": PASSWORD}
        ).status
        == 401
    )


# -------------------------------------------------------------------------- the admins --


def test_only_operators_reach_the_admins(platform: Platform, world: World):
    for service in ("accounts", "polls", "voting"):
        # Anonymous: sent to accounts' admin login, whichever admin they open.
        browser = build_opener(HTTPCookieProcessor(CookieJar()))
        with browser.open(platform.url(service, "admin/"), timeout=15) as page:
            assert page.url.startswith(platform.url("accounts", "admin/login/")), page.url
            html = page.read().decode()
        # A delegator's password does not open the accounts admin...
        form = urlencode(
            {
                "csrfmiddlewaretoken": csrf_token(html),
                "username": world.people["alice"].email,
                "password": PASSWORD,
            }
        ).encode()
        with browser.open(
            Request(page.url, data=form, headers={"Referer": page.url}), timeout=15
        ) as answer:
            assert answer.url.startswith(platform.url("accounts", "admin/login/")), answer.url
            assert "staff account" in answer.read().decode()
        with browser.open(platform.url(service, "admin/"), timeout=15) as page:
            assert page.url.startswith(platform.url("accounts", "admin/login/")), page.url
        # ...an operator's does.
        _, html = admin_browser(platform, world.op, service)
        assert "logout" in html.lower() or "log out" in html.lower(), html[:500]
    # A delegator's own token is no admin sign-on ticket.
    for service in ("polls", "voting"):
        ticket = http(
            "GET",
            platform.url(service, "admin/sso/?token=" + world.people["alice"].token),
            accept="text/html",
        )
        assert ticket.status == 403, ticket


def test_the_metrics_are_the_scraper_s_inside_and_no_one_s_through_a_proxy(
    platform: Platform, world: World
):
    """/<service>/metrics is outside the API (no schema entry): inside the cluster Prometheus
    scrapes it with no credentials, and it holds no one's data (counts by route and poll); a
    request through the public host, which every proxy marks with X-Forwarded-For, gets 404
    whoever sends it."""
    tokens = {"anon": None, **{n: p.token for n, p in world.people.items()}, "op": world.op.token}
    for service in ("accounts", "polls", "voting"):
        url = platform.url(service, "metrics")
        for persona, token in tokens.items():
            for proxied, expected in ((False, 200), (True, 404)):
                sent = {"X-Forwarded-For": "203.0.113.5"} if proxied else {}
                status = http("GET", url, token=token, accept="text/plain", headers=sent).status
                assert status == expected, (service, persona, proxied, status)
        assert http("POST", url).status == 405, service


# ------------------------------------------------------------ a demoted operator's tokens --


def _browser_signed_in(platform: Platform, email: str) -> tuple[Any, CookieJar]:
    """A browser signed in at accounts' browsable-API login: it holds the access-token cookie
    every service accepts (shared_events/kit/identity/browser.py)."""
    jar = CookieJar()
    browser = build_opener(HTTPCookieProcessor(jar))
    login = platform.url("accounts", "api/auth/login/")
    with browser.open(login, timeout=15) as page:
        html = page.read().decode()
    form = urlencode(
        {"csrfmiddlewaretoken": csrf_token(html), "username": email, "password": PASSWORD}
    ).encode()
    with browser.open(Request(login, data=form, headers={"Referer": login}), timeout=15):
        pass
    assert any(c.name == "charity_vote_access" for c in jar), [c.name for c in jar]
    return browser, jar


def _cookie_post(browser: Any, jar: CookieJar, platform: Platform, service: str, path: str) -> int:
    """POST to `service`'s API with the sign-in cookie and that service's CSRF token (what the
    browsable API's buttons send); returns the status."""
    with browser.open(
        Request(platform.url(service, "api/polls/"), headers={"Accept": "text/html"}), timeout=15
    ):
        pass
    csrf = next(c.value for c in jar if c.name == f"{service}_csrftoken")
    url = platform.url(service, "api/" + path)
    request = Request(
        url,
        data=b"{}",
        method="POST",
        headers={
            "X-CSRFToken": csrf,
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Referer": url,
        },
    )
    try:
        with browser.open(request, timeout=15) as answer:
            return answer.status
    except HTTPError as error:
        return error.code


def _scheduled_poll(platform: Platform, op: Operator, causes: list[str]) -> str:
    poll_id = draft_poll(platform, op, causes)
    scheduled = platform.api("POST", "polls", f"polls/{poll_id}/schedule/", token=op.token)
    assert scheduled.status == 200, scheduled
    return poll_id


@pytest.mark.parametrize(
    "change", [{"role": "delegator"}, {"is_active": False}], ids=["demoted", "deactivated"]
)
def test_a_demoted_or_deactivated_operator_loses_operator_rights_within_the_lag(
    platform: Platform, world: World, change: dict
):
    op = create_operator(platform)
    browser, jar = _browser_signed_in(platform, op.email)
    admin, _ = admin_browser(platform, op, "voting")
    poll_id = _scheduled_poll(platform, world.op, world.round.causes)
    # Before: the token, the cookie and the voting admin session all carry operator rights.
    assert (
        platform.api("POST", "polls", "causes/", {"title": "before"}, token=op.token).status == 201
    )
    # (an unknown poll: past the operator check, nothing to cancel)
    assert _cookie_post(browser, jar, platform, "polls", f"polls/{uuid.uuid4()}/cancel/") == 404
    with admin.open(platform.url("voting", "admin/voting/voter/"), timeout=15) as page:
        assert page.url.startswith(platform.url("voting", "admin/voting/voter/")), page.url

    changed = platform.api("PATCH", "accounts", f"accounts/{op.id}/", change, token=world.op.token)
    assert changed.status == 200, changed

    # Within the lag both replicas have it: an operator-only write with an empty body is 403
    # once polls knows (400 while the token still counts), and voting shows the new state.
    wait_until(
        lambda: platform.api("POST", "polls", "causes/", {}, token=op.token).status == 403,
        timeout=30,
        interval=0.2,
        message="polls to refuse the old operator token",
    )
    ((field, value),) = change.items()
    wait_until(
        lambda: platform.api("GET", "voting", "me/", token=op.token).body.get(field) == value,
        timeout=30,
        interval=0.2,
        message="voting's replica to have the change",
    )
    refused = platform.api("POST", "polls", "causes/", {"title": "after"}, token=op.token)
    assert refused.status == 403 and "no longer an active operator" in str(refused.body), refused
    assert _cookie_post(browser, jar, platform, "polls", f"polls/{poll_id}/cancel/") == 403
    still = platform.api("GET", "polls", f"polls/{poll_id}/", token=world.op.token)
    assert still.body["status"] == "scheduled", still
    # voting's operator surface, its admin: the session ends, back to accounts' login.
    with admin.open(platform.url("voting", "admin/voting/voter/"), timeout=15) as page:
        assert page.url.startswith(platform.url("accounts", "admin/login/")), page.url
