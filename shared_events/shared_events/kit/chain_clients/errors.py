"""What a chain client raises instead of an answer it cannot vouch for.

A client either answers with data it has checked or raises a `ChainSourceError`; it never
fills a gap with a guess. The caller keeps what it stored before and tries again later.
"""

from __future__ import annotations


class ChainSourceError(Exception):
    """A source could not give a trustworthy answer; nothing it said may be stored."""


class ChainSourceUnavailable(ChainSourceError):
    """Down, timing out, rate-limiting past our patience or failing with 5xx: try again later."""


class ChainSourceRefused(ChainSourceError):
    """The source understood and said no (bad credentials, an unknown pool or epoch): an
    operator has to act, retrying the same request will not help."""


class ChainSourceInvalidAnswer(ChainSourceError):
    """The answer does not have the documented shape or holds impossible values."""
