"""Reading what actually landed in a stream, straight from NATS (tests only)."""

import asyncio
import json

import nats


def stream_messages(url: str, stream: str) -> list[dict]:
    """Every message in the stream: subject, Nats-Msg-Id header, all headers and decoded
    envelope."""

    async def read() -> list[dict]:
        nc = await nats.connect(url)
        try:
            js = nc.jetstream()
            info = await js.stream_info(stream)
            out = []
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                try:
                    msg = await js.get_msg(stream, seq)
                except nats.js.errors.NotFoundError:
                    continue  # removed by the per-subject limit
                out.append(
                    {
                        "subject": msg.subject,
                        "msg_id": (msg.headers or {}).get("Nats-Msg-Id"),
                        "headers": dict(msg.headers or {}),
                        "envelope": json.loads(msg.data),
                    }
                )
            return out
        finally:
            await nc.close()

    return asyncio.run(read())


def publish_raw(url: str, subject: str, payload: bytes, msg_id: str | None = None) -> None:
    async def pub() -> None:
        nc = await nats.connect(url)
        try:
            headers = {"Nats-Msg-Id": msg_id} if msg_id else None
            await nc.jetstream().publish(subject, payload, headers=headers)
        finally:
            await nc.close()

    asyncio.run(pub())


def stream_config(url: str, stream: str):
    async def info():
        nc = await nats.connect(url)
        try:
            return (await nc.jetstream().stream_info(stream)).config
        finally:
            await nc.close()

    return asyncio.run(info())
