"""The ballots digest: the documented format, byte for byte."""

import hashlib
import uuid

from voting import digest

POLL = "00000000-0000-0000-0000-000000000001"
VOTER = "00000000-0000-0000-0000-0000000000aa"
C1 = "00000000-0000-0000-0000-0000000000c1"
C2 = "00000000-0000-0000-0000-0000000000c2"


def test_the_docstring_example():
    text = f"charity-vote-ballots/1 poll={POLL}\n{VOTER} {C1}=70,{C2}=30\n"
    for line in text.splitlines():  # the example the docstring shows
        assert f"    {line}\n" in digest.__doc__
    ballots = {VOTER: [(C2, 30), (C1, 70)]}
    assert digest.canonical_ballots_text(poll_id=POLL, ballots=ballots) == text
    assert (
        digest.ballots_digest(poll_id=POLL, ballots=ballots)
        == hashlib.sha256(text.encode()).hexdigest()
        == ("2ad706efeb6b987607ebef921e4c6b10f60637c91e15770e549f703ba16f92f9")
    )


def test_no_ballots_is_the_header_alone():
    assert digest.canonical_ballots_text(poll_id=POLL, ballots={}) == (
        f"charity-vote-ballots/1 poll={POLL}\n"
    )


def test_order_case_and_zeros_do_not_matter_but_content_does():
    a, b = uuid.uuid4(), uuid.uuid4()
    one = {a: [(C1, 5), (C2, 0)], b: [(C2, 1)]}
    same = {str(b).upper(): [(uuid.UUID(C2), 1)], str(a): [(C1.upper(), 5)]}
    assert digest.ballots_digest(poll_id=POLL, ballots=one) == digest.ballots_digest(
        poll_id=uuid.UUID(POLL), ballots=same
    )
    assert digest.ballots_digest(poll_id=POLL, ballots=one) != digest.ballots_digest(
        poll_id=POLL, ballots={a: [(C1, 5)], b: [(C2, 2)]}
    )
    other_poll = "00000000-0000-0000-0000-000000000002"
    assert digest.ballots_digest(poll_id=POLL, ballots=one) != digest.ballots_digest(
        poll_id=other_poll, ballots=one
    )


def test_lines_sort_by_voter_then_cause():
    v1, v2 = "10000000-0000-0000-0000-000000000000", "20000000-0000-0000-0000-000000000000"
    text = digest.canonical_ballots_text(
        poll_id=POLL, ballots={v2: [(C2, 2), (C1, 1)], v1: [(C1, 3)]}
    )
    assert text.splitlines()[1:] == [f"{v1} {C1}=3", f"{v2} {C1}=1,{C2}=2"]
