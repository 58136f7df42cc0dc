"""The system tests' own view of NATS JetStream: stream and consumer state, the last message of
a subject, and publishing straight into a stream (duplicates, stale states, hostile bytes), the
way something other than the platform's relays could."""

from __future__ import annotations

import asyncio
from typing import Any

import nats


async def _with_js(url: str, work) -> Any:
    nc = await nats.connect(url, connect_timeout=2, allow_reconnect=False, max_reconnect_attempts=1)
    try:
        return await work(nc.jetstream())
    finally:
        await nc.close()


def stream_info(url: str, stream: str) -> dict[str, Any]:
    async def work(js):
        info = await js.stream_info(stream)
        return {
            "messages": info.state.messages,
            "last_seq": info.state.last_seq,
            "max_msg_size": info.config.max_msg_size,
        }

    return asyncio.run(_with_js(url, work))


def consumer_info(url: str, stream: str, durable: str) -> dict[str, Any]:
    async def work(js):
        info = await js.consumer_info(stream, durable)
        return {
            "num_pending": info.num_pending,
            "num_ack_pending": info.num_ack_pending,
            "num_redelivered": info.num_redelivered,
            "delivered_seq": info.delivered.stream_seq if info.delivered else 0,
            "ack_floor_seq": info.ack_floor.stream_seq if info.ack_floor else 0,
        }

    return asyncio.run(_with_js(url, work))


def last_message(url: str, stream: str, subject: str) -> tuple[bytes, dict[str, str]]:
    async def work(js):
        msg = await js.get_last_msg(stream, subject)
        return msg.data, dict(msg.headers or {})

    return asyncio.run(_with_js(url, work))


def publish(
    url: str, subject: str, data: bytes, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """Publish into JetStream and wait for its ack: {"seq", "duplicate"}."""

    async def work(js):
        ack = await js.publish(subject, data, headers=headers, timeout=5)
        return {"seq": ack.seq, "duplicate": bool(ack.duplicate)}

    return asyncio.run(_with_js(url, work))


def server_max_payload(url: str) -> int:
    async def main():
        nc = await nats.connect(
            url, connect_timeout=2, allow_reconnect=False, max_reconnect_attempts=1
        )
        try:
            return nc.max_payload
        finally:
            await nc.close()

    return asyncio.run(main())
