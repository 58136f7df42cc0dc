"""The payouts API: what operators may record and confirm, and every refusal naming its
reason; the causes' payout addresses; the results showing each cause's transaction."""

import pytest
from pycardano import Network

from polls import services
from polls.models import Cause, Payout, PollStatus
from polls.tests.chain.remotes import payment_address, tx_hash
from polls.tests.factories import closed_poll, finalized_poll, make_cause, open_poll

pytestmark = pytest.mark.django_db


def payouts_url(poll):
    return f"/polls/api/polls/{poll.pk}/payouts/"


# --- the causes' payout addresses -----------------------------------------------------------


def test_a_cause_takes_a_payout_address_of_the_network_and_publishes_it(as_operator):
    address = payment_address("wells")
    response = as_operator.post(
        "/polls/api/causes/", {"title": "Wells", "payout_address": address}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["payout_address"] == address
    cause = Cause.objects.get(pk=response.json()["id"])
    assert cause.event_state().payout_address == address


@pytest.mark.parametrize(
    "address, problem",
    [
        ("addr1notanaddress", "not a bech32 Shelley address"),
        (payment_address("test", Network.TESTNET), "an address of another network"),
        (
            "stake1uyehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gh6ffgw",
            "a stake (reward) address, not a payment address",
        ),
        (
            "DdzFFzCqrhsrcTVhLygT24QwTnNqQqQ8mZrq5jykUzMveU26sxaH529kMpo7VhPrt5pwW3ZXySxgtZh8",
            "not a bech32 Shelley address",
        ),
    ],
)
def test_a_payout_address_that_is_not_one_is_a_400_naming_the_problem(
    as_operator, address, problem
):
    cause = make_cause("Schools")
    response = as_operator.patch(
        f"/polls/api/causes/{cause.pk}/", {"payout_address": address}, format="json"
    )
    assert response.status_code == 400
    assert problem in " ".join(response.json()["payout_address"])
    assert "expected a mainnet address: addr1…" in " ".join(response.json()["payout_address"])


# --- recording payout transactions ----------------------------------------------------------


def test_an_operator_records_a_transaction_for_every_unpaid_cause(as_operator, settings):
    settings.CHAIN_SOURCE = "koios"
    poll = finalized_poll([3, 1], fund_lovelace=4_000_000)
    response = as_operator.post(payouts_url(poll), {"tx_hash": tx_hash("a")}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["verified"], body["required_confirmations"]) == (
        "pending",
        True,
        settings.PAYOUT_CONFIRMATIONS,
    )
    assert body["explorer_url"] == f"https://cardanoscan.io/transaction/{tx_hash('a')}"
    assert [(line["expected_lovelace"], line["found_lovelace"]) for line in body["lines"]] == [
        (3_000_000, None),
        (1_000_000, None),
    ]
    listed = as_operator.get(payouts_url(poll)).json()
    assert [p["tx_hash"] for p in listed] == [tx_hash("a")]


@pytest.mark.parametrize(
    "body, status, says",
    [
        ({"tx_hash": "abc"}, 400, "a transaction id is 64 hexadecimal digits"),
        ({"tx_hash": "g" * 64}, 400, "a transaction id is 64 hexadecimal digits"),
        ({}, 400, "This field is required."),
        ({"tx_hash": tx_hash("x"), "extra": 1}, 400, "extra"),
        ({"tx_hash": tx_hash("x"), "causes": []}, 400, "name at least one cause"),
        ({"tx_hash": tx_hash("x"), "causes": ["nope"]}, 400, "Must be a valid UUID."),
    ],
)
def test_bad_input_is_a_400_naming_the_problem(as_operator, body, status, says):
    poll = finalized_poll([1, 1])
    response = as_operator.post(payouts_url(poll), body, format="json")
    assert response.status_code == status
    assert says in str(response.json())
    assert not Payout.objects.exists()


def test_delegators_may_read_but_not_record(as_delegator):
    poll = finalized_poll([1, 1])
    assert as_delegator.get(payouts_url(poll)).status_code == 200
    response = as_delegator.post(payouts_url(poll), {"tx_hash": tx_hash("d")}, format="json")
    assert response.status_code == 403


@pytest.mark.parametrize("make", [open_poll, closed_poll])
def test_not_before_the_poll_is_finalized(as_operator, make):
    poll = make()
    response = as_operator.post(payouts_url(poll), {"tx_hash": tx_hash("early")}, format="json")
    assert response.status_code == 409
    assert (
        f"is {poll.status}: payouts are recorded once it is finalized"
        in (response.json()["detail"])
    )


def test_a_transaction_recorded_twice_is_refused_saying_where(as_operator):
    poll = finalized_poll([1, 1])
    other = finalized_poll([1, 1], title="Round 2")
    services.payout_record(
        poll=poll, tx_hash=tx_hash("once"), causes=[poll.results.first().cause_id]
    )
    for target in (poll, other):
        response = as_operator.post(
            payouts_url(target), {"tx_hash": tx_hash("once").upper()}, format="json"
        )
        assert response.status_code == 409
        assert (
            f"transaction {tx_hash('once')} is already recorded for poll “Round 1”"
            in (response.json()["detail"])
        )


def test_a_cause_already_awaiting_a_transaction_is_not_paid_twice(as_operator):
    poll = finalized_poll([1, 1])
    first = poll.results.order_by("position").first()
    services.payout_record(poll=poll, tx_hash=tx_hash("1"), causes=[first.cause_id])
    response = as_operator.post(
        payouts_url(poll), {"tx_hash": tx_hash("2"), "causes": [str(first.cause_id)]}, format="json"
    )
    assert response.status_code == 409
    assert (
        f"“{first.cause.title}” awaits pending transaction {tx_hash('1')}"
        in (response.json()["detail"])
    )
    # Without causes named, the next transaction pays the rest.
    response = as_operator.post(payouts_url(poll), {"tx_hash": tx_hash("2")}, format="json")
    assert [line["title"] for line in response.json()["lines"]] == [
        poll.results.order_by("position").last().cause.title
    ]
    response = as_operator.post(payouts_url(poll), {"tx_hash": tx_hash("3")}, format="json")
    assert response.status_code == 409
    assert (
        "every cause of poll “Round 1” is paid or awaits a pending transaction"
        in (response.json()["detail"])
    )


def test_a_cause_without_a_payout_address_is_named(as_operator):
    poll = finalized_poll([1, 1], addresses=False)
    response = as_operator.post(payouts_url(poll), {"tx_hash": tx_hash("n")}, format="json")
    assert response.status_code == 400
    assert "has no payout address: set it on the cause first" in str(response.json()["causes"])


# --- confirming by hand (the file mode) -------------------------------------------------------


def test_in_the_file_mode_the_operator_confirms_by_hand_with_a_note(as_operator, settings):
    settings.CHAIN_SOURCE = "file"
    poll = finalized_poll([1, 1], fund_lovelace=2_000_000)
    body = as_operator.post(payouts_url(poll), {"tx_hash": tx_hash("f")}, format="json").json()
    assert body["finding"].startswith("CHAIN_SOURCE=file: not verified on chain")
    confirm = f"{payouts_url(poll)}{body['id']}/confirm/"

    blank = as_operator.post(confirm, {"note": "  "}, format="json")
    assert blank.status_code == 400
    assert "say how you checked the payment" in str(blank.json()["note"])

    response = as_operator.post(confirm, {"note": "both outputs seen in my node"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["verified"], body["note"]) == (
        "confirmed_by_hand",
        False,
        "both outputs seen in my node",
    )
    poll.refresh_from_db()
    assert poll.status == PollStatus.PAID
    results = as_operator.get(f"/polls/api/polls/{poll.pk}/results/").json()
    assert results["status"] == "paid"
    assert [(c["payout_status"], c["payout_tx_hash"]) for c in results["causes"]] == [
        ("confirmed_by_hand", tx_hash("f")),
        ("confirmed_by_hand", tx_hash("f")),
    ]
    # Settled: a second confirmation is refused, and so is a new transaction for a paid poll.
    again = as_operator.post(confirm, {"note": "again"}, format="json")
    assert again.status_code == 409
    assert "no longer changes" in again.json()["detail"]
    more = as_operator.post(payouts_url(poll), {"tx_hash": tx_hash("g")}, format="json")
    assert more.status_code == 409
    assert "is paid" in more.json()["detail"]


def test_with_a_chain_source_confirming_by_hand_is_refused(as_operator, settings):
    settings.CHAIN_SOURCE = "blockfrost"
    poll = finalized_poll([1, 1])
    payout = services.payout_record(poll=poll, tx_hash=tx_hash("b"))
    response = as_operator.post(
        f"{payouts_url(poll)}{payout.pk}/confirm/", {"note": "trust me"}, format="json"
    )
    assert response.status_code == 403
    assert "CHAIN_SOURCE=blockfrost verifies payouts on chain" in response.json()["detail"]
    assert Payout.objects.get(pk=payout.pk).status == "pending"


def test_delegators_cannot_confirm(as_delegator, settings):
    settings.CHAIN_SOURCE = "file"
    poll = finalized_poll([1, 1])
    payout = services.payout_record(poll=poll, tx_hash=tx_hash("c"))
    response = as_delegator.post(
        f"{payouts_url(poll)}{payout.pk}/confirm/", {"note": "x"}, format="json"
    )
    assert response.status_code == 403


def test_results_show_no_transaction_until_one_is_recorded(as_delegator):
    poll = finalized_poll([1, 1])
    causes = as_delegator.get(f"/polls/api/polls/{poll.pk}/results/").json()["causes"]
    assert [
        (c["payout_status"], c["payout_tx_hash"], c["payout_explorer_url"]) for c in causes
    ] == [
        (None, None, None),
        (None, None, None),
    ]
