"""Ballot receipts, in formats anyone can recompute.

Every revision of a ballot (each cast, re-vote and retraction) gets a receipt: a SHA-256 that
chains to the receipt of the previous revision of the same ballot. The chain is per ballot (one
voter, one poll), not one chain through the whole poll: a poll-wide chain would make every
ballot wait for the one before it, one hot row for all voters.

Receipt, format `charity-vote-receipt/1`: SHA-256 (64 lowercase hex digits) over the UTF-8 bytes
of this text, every line ending in a single LF::

    charity-vote-receipt/1 poll=<poll id>
    previous=<receipt of the previous revision, or "none" for the first>
    revision=<number, from 1> kind=<cast|retract> at=<YYYY-MM-DDTHH:MM:SS.ffffffZ, UTC>
    allocations=<cause id>=<points>,<cause id>=<points>,...
    nonce=<32 lowercase hex digits>

Allocations are every allocation the revision gave, zeros included, sorted by cause id (empty
after `allocations=` for a retraction). Ids are canonical UUIDs (lowercase, hyphenated). The
nonce is 128 random bits drawn for the revision: without it anyone could hash guesses of a
ballot until one matched a published receipt. The voter's revision history
(`GET /voting/api/polls/<id>/ballot/revisions/`) gives every field, so a voter can recompute
their receipts and check each links to the one before.

Receipts digest, format `charity-vote-receipts/1`: at the close the final tally carries the
SHA-256 of::

    charity-vote-receipts/1 poll=<poll id>
    <receipt>
    <receipt>
    ...

one line per counted ballot (its latest revision's receipt; retracted ballots are not
counted), sorted, every line ending in LF. polls_service shows it with the results and
`GET /voting/api/polls/<id>/receipts/` lists the receipts, so anyone can recompute it and each
voter can find their own receipt in it.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

RECEIPT_FORMAT = "charity-vote-receipt/1"
DIGEST_FORMAT = "charity-vote-receipts/1"
RECEIPT_LENGTH = 64


def new_nonce() -> str:
    return secrets.token_hex(16)


def _canonical_id(value: uuid.UUID | str) -> str:
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


def receipt_text(
    *,
    poll_id: uuid.UUID | str,
    previous: str | None,
    number: int,
    kind: str,
    at: datetime,
    allocations: Sequence[tuple[uuid.UUID | str, int]],
    nonce: str,
) -> str:
    stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    given = sorted((_canonical_id(c), int(p)) for c, p in allocations)
    return (
        f"{RECEIPT_FORMAT} poll={_canonical_id(poll_id)}\n"
        f"previous={previous or 'none'}\n"
        f"revision={number} kind={kind} at={stamp}\n"
        "allocations=" + ",".join(f"{c}={p}" for c, p in given) + "\n"
        f"nonce={nonce}\n"
    )


def revision_receipt(**fields) -> str:
    """The receipt of a revision; takes the arguments of `receipt_text`."""
    return hashlib.sha256(receipt_text(**fields).encode("utf-8")).hexdigest()


def receipts_digest_text(*, poll_id: uuid.UUID | str, receipts: Iterable[str]) -> str:
    return "".join(
        [f"{DIGEST_FORMAT} poll={_canonical_id(poll_id)}\n", *(f"{r}\n" for r in sorted(receipts))]
    )


def receipts_digest(*, poll_id: uuid.UUID | str, receipts: Iterable[str]) -> str:
    text = receipts_digest_text(poll_id=poll_id, receipts=receipts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def looks_like_receipt(value: str) -> bool:
    return len(value) == RECEIPT_LENGTH and all(c in "0123456789abcdef" for c in value)
