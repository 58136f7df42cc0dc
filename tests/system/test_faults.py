"""Kill a part of the platform: the others keep serving what they own, and everything converges
once it is back."""

from __future__ import annotations

import uuid

from shared_events.testing import wait_until
from tests.system.harness import Platform

PASSWORD = "a-long-enough-passphrase-42"


def register_and_sign_in(platform: Platform) -> tuple[str, str]:
    email = f"fault-{uuid.uuid4().hex[:8]}@example.com"
    registered = platform.api("POST", "accounts", "register/",
                              {"email": email, "password": PASSWORD})
    assert registered.status == 201, registered
    tokens = platform.api("POST", "accounts", "token/", {"email": email, "password": PASSWORD})
    assert tokens.status == 200, tokens
    return registered.body["id"], tokens.body["access"]


def voter_points(platform: Platform, token: str) -> int | None:
    me = platform.api("GET", "voting", "me/", token=token)
    return me.body["points"] if me.status == 200 else None


def test_voting_catches_up_after_its_consumer_was_killed(platform: Platform):
    # 1. voting's consumer crashes.
    platform.kill("voting-consumer")
    try:
        # 2. accounts does not notice: registration and sign-in work; voting has no replica yet.
        _, access = register_and_sign_in(platform)
        assert platform.api("GET", "voting", "me/", token=access).status == 404
    finally:
        # 3. The consumer comes back and applies what it missed from the stream.
        platform.restart("voting-consumer")
    wait_until(lambda: voter_points(platform, access) == 100, timeout=30,
               message="the voter after the consumer restarted")


def test_events_written_while_nats_is_down_arrive_when_it_is_back(platform: Platform):
    # 1. NATS crashes.
    platform.kill("nats")
    try:
        # 2. accounts keeps serving what it owns; the event waits in its outbox.
        _, access = register_and_sign_in(platform)
        assert platform.api("GET", "accounts", "me/", token=access).status == 200
        assert platform.api("GET", "voting", "me/", token=access).status == 404
    finally:
        # 3. NATS restarts on the same port and storage.
        platform.restart("nats")
    wait_until(lambda: voter_points(platform, access) == 100, timeout=60,
               message="the voter after NATS restarted")
