"""The receipt formats of `voting.receipts`, as documented there."""

import hashlib
import uuid
from datetime import UTC, datetime

from voting.receipts import receipt_text, receipts_digest


def test_the_receipt_text_is_the_documented_one():
    poll, cause_a, cause_b = (uuid.UUID(int=n) for n in (1, 0xC1, 0xC2))
    text = receipt_text(
        poll_id=poll,
        previous=None,
        number=1,
        kind="cast",
        at=datetime(2026, 11, 25, 10, 0, 0, 123, tzinfo=UTC),
        allocations=[(cause_b, 30), (str(cause_a), 0)],
        nonce="ab" * 16,
    )
    assert text == (
        "charity-vote-receipt/1 poll=00000000-0000-0000-0000-000000000001\n"
        "previous=none\n"
        "revision=1 kind=cast at=2026-11-25T10:00:00.000123Z\n"
        "allocations=00000000-0000-0000-0000-0000000000c1=0,"
        "00000000-0000-0000-0000-0000000000c2=30\n"
        f"nonce={'ab' * 16}\n"
    )
    assert (
        receipts_digest(poll_id=poll, receipts=["b" * 64, "a" * 64])
        == hashlib.sha256(
            f"charity-vote-receipts/1 poll={poll}\n{'a' * 64}\n{'b' * 64}\n".encode()
        ).hexdigest()
    )
