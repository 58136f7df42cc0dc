"""voting's pages under the ballot load, beside the API's own ballots.

Three loads at once against voting's web, for the same seconds:
- the ballot load: `clients` keep-alive clients PUT ballots over the API with a bearer token,
  as `ballots.py` does (the API's figure);
- one client opening the poll's page, `GET /voting/polls/<id>/`, as a signed-in browser does
  (the sign-in cookie; the page reads the poll, its causes, the ballot and the power);
- one client sending the ballot as the page's script does: `PUT .../ballot/` with the sign-in
  cookie, the CSRF cookie and `X-CSRFToken`, and the Origin header a browser adds.

Each request's time is taken by the client on the loopback: the server's time plus a loopback
round trip, the same for the three kinds.
"""

from __future__ import annotations

import concurrent.futures
import json
import random
import secrets
from typing import Any

from .ballots import _ballot_builder, _describe
from .load import Request, run_load

NAME = "pages"
COOKIE = "charity_vote_access"


def _browser_headers(tokens: list[str], port: int, *, json_body: bool) -> list[dict[str, str]]:
    """A browser's headers per delegator: the sign-in cookie and a CSRF cookie with its token
    (Django takes a 32-character secret as both)."""
    headers = []
    for token in tokens:
        csrf = secrets.token_hex(16)
        h = {"Cookie": f"{COOKIE}={token}; voting_csrftoken={csrf}", "Accept": "text/html"}
        if json_body:
            h.update(
                {
                    "Accept": "application/json",
                    "Content-Type": "application/json",
                    "X-CSRFToken": csrf,
                    "Origin": f"http://127.0.0.1:{port}",
                }
            )
        headers.append(h)
    return headers


def _page_builder(poll: str, tokens: list[str], port: int):
    path = f"/voting/polls/{poll}/"
    headers = _browser_headers(tokens, port, json_body=False)

    def build(rng: random.Random) -> Request:
        return "GET", path, b"", headers[rng.randrange(len(tokens))]

    return build


def _page_ballot_builder(poll: str, causes: list[str], tokens: list[str], port: int, points: int):
    path = f"/voting/api/polls/{poll}/ballot/"
    headers = _browser_headers(tokens, port, json_body=True)

    def build(rng: random.Random) -> Request:
        # As ballot.js sends it: every cause of the poll, zeros included.
        share = points // len(causes)
        allocations = [{"cause": c, "points": rng.randint(0, share)} for c in causes]
        body = json.dumps({"allocations": allocations}).encode()
        return "PUT", path, body, headers[rng.randrange(len(tokens))]

    return build


def run(ctx: Any) -> dict[str, Any]:
    p, seed = ctx.params, ctx.seed
    port = ctx.platform.port("voting")
    tokens = seed["tokens"]
    loads = {
        "api_ballots": (_ballot_builder(seed["poll"], seed["causes"], tokens, p.points), p.clients),
        "page_get": (_page_builder(seed["poll"], tokens, port), 1),
        "page_ballots": (
            _page_ballot_builder(seed["poll"], seed["causes"], tokens, port, p.points),
            1,
        ),
    }
    with concurrent.futures.ThreadPoolExecutor(len(loads)) as pool:
        futures = {
            name: pool.submit(
                run_load,
                port,
                build,
                clients=clients,
                duration=p.ballot_seconds,
                warmup=p.warmup,
                label=name.replace("_", " "),
                seed=10 + i,
            )
            for i, (name, (build, clients)) in enumerate(loads.items())
        }
        results = {name: future.result() for name, future in futures.items()}
    return {
        "delegators": len(tokens),
        "causes": len(seed["causes"]),
        "api_clients": p.clients,
        "seconds": p.ballot_seconds,
        "web_workers": ctx.platform.web_workers,
        **{name: _describe(result) for name, result in results.items()},
    }


def figures(result: dict[str, Any]) -> list[dict[str, Any]]:
    api = result["api_ballots"]
    rows = [
        (
            f"voting's pages under the ballot load ({result['api_clients']} API clients "
            f"casting, {result['delegators']:,} delegators, {result['seconds']:.0f} s): "
            "poll page GET p50 / p99",
            result["page_get"],
        ),
        ("  ballot sent from the page (cookie + CSRF) p50 / p99", result["page_ballots"]),
    ]
    out = []
    for scenario, measured in rows:
        out.append(
            {
                "scenario": scenario,
                "figure": "ms",
                "value": f"{measured['p50_ms']} / {measured['p99_ms']}",
                "ceiling": f"{api['p50_ms']} / {api['p99_ms']}",
                "ceiling_what": "the API's ballot PUT (bearer token) in the same seconds",
                "ratio": None,
                "goal": "reported",
                "met": None if not measured["errors"] else False,
            }
        )
    out.append(
        {
            "scenario": "  requests/s: poll page / ballots from the page / API ballots",
            "figure": "req/s",
            "value": f"{result['page_get']['requests_per_second']} / "
            f"{result['page_ballots']['requests_per_second']} / {api['requests_per_second']}",
            "ceiling": None,
            "ratio": None,
            "goal": "reported",
            "met": None
            if not (result["page_get"]["errors"] or result["page_ballots"]["errors"])
            else False,
        }
    )
    return out
