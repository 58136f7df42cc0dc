"""Who may do what on NATS: one user per service, allowed exactly the subjects its relay,
consumer, status and replay use, and nothing of another service's.

Pure data and text, no nats or Django import: `manage_all.py up` writes the embedded server's
configuration from it, and tests/deploy checks the Kubernetes one against it.

The JetStream API is request/reply on `$JS.API.<verb>.<stream>[.<consumer>]`, so a permission
on the request subject is a permission on the operation (docs.nats.io, "JetStream wire API").
Acks are publishes to the reply subject of a delivery, `$JS.ACK.<stream>.<consumer>.…`.
Each service gets replies on its own inbox prefix (`_INBOX_<service>`), so no service can
subscribe to another's pull deliveries or API answers.
"""

from __future__ import annotations

import dataclasses

SERVICES = ("accounts", "polls", "voting")
# The producer streams each service's consumer follows: the other two. Each service's tests
# check this against its registered handlers (`subscriptions()`).
READS: dict[str, tuple[str, ...]] = {
    "accounts": ("polls", "voting"),
    "polls": ("accounts", "voting"),
    "voting": ("accounts", "polls"),
}
# A user for people and tests: every subject (`nats stream ls`, the system tests' checks).
ADMIN_USER = "admin"


def inbox_prefix(service: str) -> str:
    return f"_INBOX_{service}"


# The most partitions a stream may have (`core/partitions.py`): each partition's durable is
# named in the permissions, so the servers' configuration needs no change below this bound.
MAX_STREAM_PARTITIONS = 8


def durable_name(service: str, stream: str) -> str:
    """The durable pull consumer `service` reads `stream` through (unpartitioned)."""
    return f"{service}-{stream.lower()}"


def partitioned_durable_name(service: str, stream: str, partition: int) -> str:
    """The durable of one partition of `stream` (`core/partitions.py`)."""
    return f"{durable_name(service, stream)}-p{partition}"


def replay_consumer_name(service: str, stream: str) -> str:
    """The consumer `manage.py replay_events` reads a stream whole through; one name per
    service and stream, so the permissions can name it (a server-made name could not be)."""
    return f"{service}-replay-{stream.lower()}"


@dataclasses.dataclass(frozen=True)
class Permissions:
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]


def service_permissions(service: str) -> Permissions:
    if service not in READS:
        raise ValueError(f"unknown service {service!r}")
    own = service.upper()
    api = "$JS.API"
    publish = [
        f"{service}.>",  # its events
        f"{api}.STREAM.INFO.{own}",
        f"{api}.STREAM.CREATE.{own}",
        f"{api}.STREAM.UPDATE.{own}",
    ]
    for producer in READS[service]:
        stream = producer.upper()
        replay = replay_consumer_name(service, stream)
        publish.append(f"{api}.STREAM.INFO.{stream}")  # there yet? its last sequence?
        durables = [durable_name(service, stream)] + [
            partitioned_durable_name(service, stream, p) for p in range(MAX_STREAM_PARTITIONS)
        ]
        for durable in durables:
            publish += [
                # nats-py creates a durable by the legacy subject, or by CREATE with the name
                # (and its filter subject appended when it has exactly one).
                f"{api}.CONSUMER.DURABLE.CREATE.{stream}.{durable}",
                f"{api}.CONSUMER.CREATE.{stream}.{durable}",
                f"{api}.CONSUMER.CREATE.{stream}.{durable}.>",
                f"{api}.CONSUMER.INFO.{stream}.{durable}",
                f"{api}.CONSUMER.MSG.NEXT.{stream}.{durable}",
                f"$JS.ACK.{stream}.{durable}.>",  # ack, nak, term
            ]
        publish += [
            # Replay's consumer: made, read, deleted.
            f"{api}.CONSUMER.CREATE.{stream}.{replay}",
            f"{api}.CONSUMER.CREATE.{stream}.{replay}.>",
            f"{api}.CONSUMER.MSG.NEXT.{stream}.{replay}",
            f"{api}.CONSUMER.DELETE.{stream}.{replay}",
        ]
    return Permissions(publish=tuple(publish), subscribe=(f"{inbox_prefix(service)}.>",))


def _allow(items: tuple[str, ...], indent: str) -> list[str]:
    return ["allow: [", *(f'{indent}  "{item}"' for item in items), f"{indent}]"]


def _indented(lines: list[str], indent: str) -> list[str]:
    return [indent + line for line in lines]


def authorization_block(passwords: dict[str, str], *, indent: str = "") -> str:
    """The `authorization { users: [...] }` block of a nats-server configuration. A password is
    written as given: a literal in quotes, or `$NAME` (an environment variable the server
    reads at start, as the Kubernetes manifests do)."""

    def value(password: str) -> str:
        return password if password.startswith("$") else f'"{password}"'

    lines = ["authorization {", "  users: ["]
    for service in SERVICES:
        perms = service_permissions(service)
        lines += [
            "    {",
            f'      user: "{service}"',
            f"      password: {value(passwords[service])}",
            "      permissions: {",
            "        publish: {",
            *_indented(_allow(perms.publish, ""), "          "),
            "        }",
            "        subscribe: {",
            *_indented(_allow(perms.subscribe, ""), "          "),
            "        }",
            "      }",
            "    }",
        ]
    lines += [
        "    {",
        f'      user: "{ADMIN_USER}"',
        f"      password: {value(passwords[ADMIN_USER])}",
        "    }",
        "  ]",
        "}",
    ]
    return "\n".join(indent + line if line else line for line in lines) + "\n"
