"""Each service's NATS user, against a real nats-server running the configuration that
`manage_all.py up` writes (transport/permissions.py): it can do everything the platform needs
(its relay publishes, its consumers pull and ack, status and replay), and nothing of another
service's (publish its subjects, touch its stream, read or ack its consumer, hear its inbox)."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import logging
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import nats
import nats.errors
import pytest
from nats.js.api import StreamConfig

from shared_events.core.testing import NatsServer
from shared_events.core.transport.connection import TransportError, close_bounded, connect
from shared_events.core.transport.permissions import (
    ADMIN_USER,
    READS,
    SERVICES,
    authorization_block,
    durable_name,
    inbox_prefix,
    replay_consumer_name,
)
from shared_events.core.transport.publisher import OutgoingMessage, Publisher
from shared_events.core.transport.pull import PullSource, read_stream
from shared_events.core.transport.streams import ensure_stream, stream_spec

PASSWORDS = {user: secrets.token_urlsafe(16) for user in (*SERVICES, ADMIN_USER)}
# A refused JetStream request is never answered: it times out. What is allowed gets room for
# a busy machine, what is refused a short wait.
REFUSED_TIMEOUT = 1.0
ALLOWED_TIMEOUT = 10.0


@pytest.fixture(scope="module")
def secured_server(tmp_path_factory) -> Iterator[NatsServer]:
    workdir = tmp_path_factory.mktemp("nats-auth")
    config = workdir / "nats.conf"
    config.write_text(authorization_block(PASSWORDS))
    server = NatsServer(store_dir=workdir / "store", config=config).start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def as_service(secured_server: NatsServer, settings):
    """as_service("polls"): this test's SHARED_EVENTS become that service's."""

    def switch(service: str) -> str:
        settings.SHARED_EVENTS = {
            **settings.SHARED_EVENTS,
            "SERVICE": service,
            "PRODUCES": (service,),
            "NATS_URL": secured_server.url,
            "NATS_PASSWORD": PASSWORDS[service],
        }
        return secured_server.url

    return switch


def admin_url(server: NatsServer) -> str:
    return f"nats://{ADMIN_USER}:{PASSWORDS[ADMIN_USER]}@127.0.0.1:{server.port}"


async def _last_seq(server: NatsServer, stream: str) -> int:
    nc = await nats.connect(admin_url(server))
    try:
        return (await nc.jetstream().stream_info(stream)).state.last_seq
    finally:
        await nc.close()


def _violations(caplog) -> str:
    """What the server refused, as nats-py reports it (lower-cased) to the error callback."""
    messages = (r.getMessage().lower() for r in caplog.records)
    return " ".join(m for m in messages if "permissions violation" in m)


def _publish_as(service: str, url: str, subject: str) -> list[BaseException | None]:
    publisher = Publisher(url, name=f"{service}-relay", streams=[stream_spec(service)])
    try:
        message = OutgoingMessage(subject, b"{}", uuid.uuid4().hex, f"{service}.thing.created")
        return publisher.publish_batch_start([message], timeout=ALLOWED_TIMEOUT).result()
    finally:
        publisher.close()


def test_a_wrong_password_or_no_user_is_refused(as_service, secured_server):
    as_service("polls")

    async def attempt(url: str) -> str:
        try:
            nc = await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=1)
        except Exception as exc:  # nats-py raises its authorization error, or gives up
            return str(exc) or type(exc).__name__
        await nc.close()
        return "connected"

    assert asyncio.run(attempt(secured_server.url)) != "connected"
    wrong = f"nats://polls:not-the-password@127.0.0.1:{secured_server.port}"
    assert asyncio.run(attempt(wrong)) != "connected"


def test_each_service_does_everything_the_platform_needs(as_service, secured_server):
    # Each relay makes its stream and publishes its own events, acked by JetStream.
    for service in SERVICES:
        url = as_service(service)
        assert _publish_as(service, url, f"{service}.thing.{uuid.uuid4()}") == [None]

    for service in SERVICES:
        url = as_service(service)

        async def consume(service: str = service, url: str = url) -> None:
            nc = await connect(url, name=f"{service}-consumer")
            try:
                js = nc.jetstream(timeout=ALLOWED_TIMEOUT)
                await ensure_stream(js, stream_spec(service))  # its consumer's start
                for producer in READS[service]:
                    stream = producer.upper()
                    # The consumer: create its durable, pull, ack.
                    source = PullSource(
                        nc, stream, durable_name(service, stream), [f"{producer}.>"]
                    )
                    await source.open(ack_wait=30, max_ack_pending=100)
                    deliveries = await source.fetch(10, timeout=5.0)
                    assert [d.subject.split(".")[0] for d in deliveries] == [producer]
                    for delivery in deliveries:
                        await delivery.ack()
                    await nc.flush()
                    # Status: its consumer's state (the acks land shortly), and the stream's.
                    for _ in range(100):
                        info = await js.consumer_info(stream, durable_name(service, stream))
                        if info.num_ack_pending == 0:
                            break
                        await asyncio.sleep(0.05)
                    assert info.num_ack_pending == 0 and info.num_pending == 0
                    await js.stream_info(stream)
                    # Replay: the stream read whole through its named consumer, removed after.
                    name = replay_consumer_name(service, stream)
                    read = [
                        s async for _, s, _ in read_stream(js, stream, [f"{producer}.>"], name=name)
                    ]
                    assert len(read) == 1
            finally:
                await close_bounded(nc)

        asyncio.run(consume())


def test_a_service_cannot_publish_or_manage_another_services_stream(
    as_service, secured_server, caplog
):
    url = as_service("accounts")
    assert _publish_as("accounts", url, f"accounts.thing.{uuid.uuid4()}") == [None]
    before = asyncio.run(_last_seq(secured_server, "ACCOUNTS"))
    url = as_service("polls")

    async def trespass() -> list[str]:
        refused = []
        nc = await connect(url, name="polls-trespass")
        js = nc.jetstream(timeout=REFUSED_TIMEOUT)
        try:
            for attempt in (
                lambda: js.publish(
                    f"accounts.account.{uuid.uuid4()}", b"{}", timeout=REFUSED_TIMEOUT
                ),
                lambda: js.delete_stream("ACCOUNTS"),
                lambda: js.purge_stream("ACCOUNTS"),
                # Change it (take in polls' subjects), or make a stream of its own.
                lambda: js.update_stream(StreamConfig(name="ACCOUNTS", subjects=["accounts.>"])),
                lambda: js.add_stream(StreamConfig(name="SNOOP", subjects=["accounts.>"])),
            ):
                try:
                    await attempt()
                    refused.append("allowed")
                except (TimeoutError, nats.errors.Error):
                    refused.append("refused")
        finally:
            await close_bounded(nc)
        return refused

    with caplog.at_level(logging.DEBUG, logger="shared_events.core.transport.connection"):
        assert asyncio.run(trespass()) == ["refused"] * 5
    violations = _violations(caplog)
    for subject in ("accounts.account.", "stream.delete.accounts", "stream.update.accounts"):
        assert subject in violations, violations
    assert asyncio.run(_last_seq(secured_server, "ACCOUNTS")) == before


def test_a_service_cannot_read_ack_or_overhear_another_services_consumer(
    as_service, secured_server, caplog
):
    url = as_service("accounts")
    assert _publish_as("accounts", url, f"accounts.thing.{uuid.uuid4()}") == [None]
    voting_url = as_service("voting")
    durable = durable_name("voting", "ACCOUNTS")

    async def open_voting() -> None:
        nc = await connect(voting_url, name="voting-consumer")
        try:
            source = PullSource(nc, "ACCOUNTS", durable, ["accounts.>"])
            await source.open(ack_wait=30, max_ack_pending=100)
        finally:
            await close_bounded(nc)

    asyncio.run(open_voting())
    polls_url = as_service("polls")

    async def trespass() -> tuple[list[str], int]:
        heard: list[str] = []

        async def hear(msg) -> None:
            heard.append(msg.subject)

        nc = await connect(polls_url, name="polls-trespass")
        js = nc.jetstream(timeout=REFUSED_TIMEOUT)
        try:
            try:
                await js.consumer_info("ACCOUNTS", durable)
                outcome = ["info allowed"]
            except (TimeoutError, nats.errors.Error):
                outcome = ["info refused"]
            # Pull from voting's durable, replies to polls' own inbox: the request is refused.
            inbox = nc.new_inbox()
            await nc.subscribe(inbox, cb=hear)
            request = json.dumps({"batch": 10, "expires": int(0.5e9)}).encode()
            await nc.publish(f"$JS.API.CONSUMER.MSG.NEXT.ACCOUNTS.{durable}", request, reply=inbox)
            # Listen on voting's inbox prefix for its deliveries: the subscription is refused.
            await nc.subscribe(f"{inbox_prefix('voting')}.>", cb=hear)
            # Ack for voting: refused (it would drop voting's messages unread).
            await nc.publish(f"$JS.ACK.ACCOUNTS.{durable}.1.1.1.1.0", b"+ACK")
            await nc.flush()
            await asyncio.sleep(1.0)  # a delivery, had the pull passed, would be here by now
        finally:
            await close_bounded(nc)
        return outcome, len(heard)

    with caplog.at_level(logging.DEBUG, logger="shared_events.core.transport.connection"):
        outcome, heard = asyncio.run(trespass())
    assert outcome == ["info refused"]
    assert heard == 0
    violations = _violations(caplog)
    assert f"consumer.msg.next.accounts.{durable}" in violations
    assert f'subscription to "{inbox_prefix("voting")}.>"'.lower() in violations
    assert f"$js.ack.accounts.{durable}" in violations

    # Voting's consumer still has its message, never delivered to anyone.
    as_service("voting")

    async def voting_pulls() -> list[int]:
        nc = await connect(voting_url, name="voting-consumer")
        try:
            source = PullSource(nc, "ACCOUNTS", durable, ["accounts.>"])
            await source.open(ack_wait=30, max_ack_pending=100)
            deliveries = await source.fetch(10, timeout=5.0)
            for delivery in deliveries:
                await delivery.ack()
            return [d.num_delivered for d in deliveries]
        finally:
            await close_bounded(nc)

    delivered = asyncio.run(voting_pulls())
    assert delivered and set(delivered) == {1}


def _ca_and_server_certificate(directory: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate it signs for 127.0.0.1 (as the dev overlay's example CA)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder(subject_name=name("test CA"), issuer_name=name("test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder(subject_name=name("nats"), issuer_name=ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.crt", directory / "tls.crt", directory / "tls.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def test_a_service_reaches_a_tls_only_nats_through_the_ca_it_is_given(settings, tmp_path):
    ca, cert, key = _ca_and_server_certificate(tmp_path)
    config = tmp_path / "nats.conf"
    config.write_text(
        authorization_block(PASSWORDS) + f'tls {{\n  cert_file: "{cert}"\n  key_file: "{key}"\n}}\n'
    )
    server = NatsServer(store_dir=tmp_path / "store", config=config).start()
    settings.SHARED_EVENTS = {
        **settings.SHARED_EVENTS,
        "SERVICE": "voting",
        "NATS_PASSWORD": PASSWORDS["voting"],
    }
    try:
        # Without the CA the server's certificate is refused: the client does verify it.
        with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED|certificate verify"):
            asyncio.run(connect(server.url, name="voting-tls"))
        settings.SHARED_EVENTS = {**settings.SHARED_EVENTS, "NATS_TLS_CA_FILE": str(ca)}
        url = server.url
        assert _publish_as("voting", url, f"voting.thing.{uuid.uuid4()}") == [None]
    finally:
        server.close()
