"""transport's own parsing of what JetStream puts in a message's ack subject."""

from nats.aio.msg import Msg

from shared_events.transport import _ack_metadata


def _msg(reply: str) -> Msg:
    return Msg(_client=None, subject="accounts.account.x", reply=reply, data=b"{}")


def test_the_ack_subject_gives_stream_sequence_and_deliveries():
    v1 = "$JS.ACK.ACCOUNTS.voting-accounts.3.1042.17.1764612345000000000.9"
    assert _ack_metadata(_msg(v1)) == ("ACCOUNTS", 1042, 3)
    # With a domain and an account hash (and a random last token), as newer servers send it.
    v2 = "$JS.ACK.hub.ACCHASH.POLLS.voting-polls.1.77.5.1764612345000000000.0.abc123"
    assert _ack_metadata(_msg(v2)) == ("POLLS", 77, 1)


def test_it_agrees_with_nats_py_where_both_parse():
    for reply in ("$JS.ACK.ACCOUNTS.d.2.5.4.1764612345000000000.0",
                  "$JS.ACK._.HASH.VOTING.d.7.9.8.1764612345000000000.3.zz"):
        meta = _msg(reply).metadata
        assert _ack_metadata(_msg(reply)) == (meta.stream, meta.sequence.stream,
                                              meta.num_delivered)
