"""The digest of the ballots a final tally counted, in a format anyone can recompute.

Format `charity-vote-ballots/1`: SHA-256 over the UTF-8 bytes of this text, written as 64
lowercase hex digits::

    charity-vote-ballots/1 poll=<poll id>\\n
    <voter id> <cause id>=<points>,<cause id>=<points>,...\\n
    <voter id> <cause id>=<points>,...\\n

- The first line names the format and the poll, so equal ballots in two polls hash apart.
- Then one line per ballot counted (every current, not retracted ballot of the poll), sorted by
  voter id; within a line the allocations are sorted by cause id. Only allocations with points
  above zero appear: a zero changes no count. A ballot with nothing above zero has no line (the
  API never accepts one).
- Ids are UUIDs in their canonical form: lowercase hex, hyphenated 8-4-4-4-12. Sorting is by
  that string (the same as by the UUID's bytes).
- Points are base-10 integers without sign, leading zeros or separators.
- Every line, the last included, ends in a single LF (`\\n`); there is nothing else (no spaces
  other than the one after the voter id, no trailing blank line).

With no ballots the text is the first line alone. For example, poll
`00000000-0000-0000-0000-000000000001` with one ballot of voter
`00000000-0000-0000-0000-0000000000aa` giving 30 points to cause
`00000000-0000-0000-0000-0000000000c2` and 70 to cause `00000000-0000-0000-0000-0000000000c1`::

    charity-vote-ballots/1 poll=00000000-0000-0000-0000-000000000001
    00000000-0000-0000-0000-0000000000aa 00000000-0000-0000-0000-0000000000c1=70,00000000-0000-0000-0000-0000000000c2=30

(both lines ending in LF), whose digest is
`2ad706efeb6b987607ebef921e4c6b10f60637c91e15770e549f703ba16f92f9`.
In Python: `hashlib.sha256(text.encode()).hexdigest()`.
"""  # noqa: E501  (the example line is the exact text, it cannot wrap)

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

FORMAT = "charity-vote-ballots/1"


def _canonical_id(value: uuid.UUID | str) -> str:
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


def canonical_ballots_text(
    *,
    poll_id: uuid.UUID | str,
    ballots: Mapping[Any, Iterable[tuple[Any, int]]],
) -> str:
    """The text the digest is taken over. `ballots` maps a voter id to (cause id, points)."""
    lines = [f"{FORMAT} poll={_canonical_id(poll_id)}\n"]
    for voter, allocations in sorted(
        ((_canonical_id(v), a) for v, a in ballots.items()), key=lambda item: item[0]
    ):
        counted = sorted((_canonical_id(c), int(p)) for c, p in allocations if p > 0)
        if counted:
            lines.append(f"{voter} " + ",".join(f"{c}={p}" for c, p in counted) + "\n")
    return "".join(lines)


def ballots_digest(
    *,
    poll_id: uuid.UUID | str,
    ballots: Mapping[Any, Iterable[tuple[Any, int]]],
) -> str:
    text = canonical_ballots_text(poll_id=poll_id, ballots=ballots)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
