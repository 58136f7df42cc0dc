"""A NATS connection that fails fast and is thrown away, never waited on.

nats-py does not always notice a dead connection (see `usable`), so one that missed a deadline
or whose reading task ended is closed bounded (`close_bounded`) and made again.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any

from django.conf import settings
from nats.aio.client import Client

from .. import conf
from .permissions import inbox_prefix

log = logging.getLogger(__name__)


class TransportError(Exception):
    """NATS could not be reached or did not confirm in time."""


async def connect(url: str, *, name: str, connect_timeout: float = 2.0) -> Client:
    """A connection, or TransportError at once when the server is not there.

    No automatic reconnect: nats-py would buffer publishes and retry a first connect forever.
    The relay reconnects on its next batch and the consumer in its run loop, with backoff."""

    async def _quiet(exc: Exception) -> None:
        log.debug("nats: %s", exc)

    nc = Client()
    try:
        await asyncio.wait_for(
            nc.connect(
                servers=[url],
                name=name,
                **client_options(),
                # nats-py annotates its timeouts int; they are seconds, fractions too.
                connect_timeout=connect_timeout,  # type: ignore[arg-type]
                allow_reconnect=False,
                # nats-py retries even a first connect until this count is passed.
                max_reconnect_attempts=1,
                reconnect_time_wait=0.05,  # type: ignore[arg-type]
                error_cb=_quiet,
            ),
            timeout=connect_timeout + 0.5,
        )
        return nc
    except Exception as exc:  # nats-py raises a zoo of errors for a server that is not there
        await close_bounded(nc)
        reason = str(exc) or type(exc).__name__
        raise TransportError(f"cannot connect to NATS at {url}: {reason}") from exc


def client_options() -> dict[str, Any]:
    """Credentials, TLS and the inbox prefix from settings.SHARED_EVENTS: each service signs in
    as its own user, whose permissions allow replies only on its own inbox prefix."""
    options: dict[str, Any] = {}
    if not settings.configured:
        return options  # a tool or test outside any service: the URL says it all
    service = conf.get("SERVICE")
    if service:
        options["inbox_prefix"] = inbox_prefix(service)
    if conf.get("NATS_PASSWORD"):
        options["user"] = conf.get("NATS_USER") or service
        options["password"] = conf.get("NATS_PASSWORD")
    ca_file, cert_file = conf.get("NATS_TLS_CA_FILE"), conf.get("NATS_TLS_CERT_FILE")
    if ca_file or cert_file:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file or None)
        if cert_file:  # a client certificate, for a server that verifies its clients
            context.load_cert_chain(cert_file, conf.get("NATS_TLS_KEY_FILE") or None)
        options["tls"] = context
    return options


# Closing flushes what is buffered, which a server that hangs never takes.
CLOSE_TIMEOUT_SECONDS = 2.0


def usable(nc: Client) -> bool:
    """Whether a connection can still deliver answers. nats-py cancels the PONG future of a
    `flush` that timed out; the late PONG then raises in its read loop, which ends while the
    connection still says connected, so every ack after that is lost."""
    reading = getattr(nc, "_reading_task", None)
    return not nc.is_closed and nc.is_connected and reading is not None and not reading.done()


async def close_bounded(nc: Client, timeout: float = CLOSE_TIMEOUT_SECONDS) -> None:
    """Close without waiting on the server: past `timeout` (or on any error) drop the socket."""
    try:
        await asyncio.wait_for(nc.close(), timeout)
        return
    except Exception as exc:  # a hung server, or nats-py tripping over a half-made connection
        log.debug("nats: closing a connection: %r", exc)
    writer = getattr(getattr(nc, "_transport", None), "_io_writer", None)
    if writer is not None:
        writer.transport.abort()
