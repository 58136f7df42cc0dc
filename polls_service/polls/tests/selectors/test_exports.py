"""The final results as CSV: one row per cause of each finalized poll, none for the others."""

import csv
import io

import pytest

from polls import selectors
from polls.tests.factories import closed_poll, make_cause, open_poll, tally_message
from shared_events.core.consumer.apply import apply_batch

pytestmark = pytest.mark.django_db

HEADER = [
    "poll_id",
    "poll",
    "cause_id",
    "cause",
    "points",
    "voters",
    "share",
    "payout_lovelace",
    "payout_ada",
    "power_formula",
    "snapshot_epoch",
    "eligible",
    "total_power",
    "payout_status",
    "payout_tx_hash",
    "payout_explorer_url",
]


def test_a_finalized_poll_has_a_row_per_cause_and_a_running_one_none():
    poll = closed_poll(
        title="Q3", fund_lovelace=3_000_000, causes=[make_cause("Wells"), make_cause("Schools")]
    )
    wells, schools = poll.causes.order_by("poll_entries__position")
    apply_batch([tally_message(poll, 2, {wells: (2, 2), schools: (1, 1)}, final=True)])
    poll.refresh_from_db()
    rows = list(csv.reader(io.StringIO(selectors.results_csv([poll, open_poll()]))))
    # A voting that predates voting power says neither how many were eligible nor the total.
    epoch = str(poll.snapshot_epoch)
    assert rows == [
        HEADER,
        [
            str(poll.pk),
            "Q3",
            str(wells.pk),
            "Wells",
            "2",
            "2",
            "0.666667",
            "2000000",
            "2.000000",
            "points",
            epoch,
            "",
            "",
            "",
            "",
            "",
        ],
        [
            str(poll.pk),
            "Q3",
            str(schools.pk),
            "Schools",
            "1",
            "1",
            "0.333333",
            "1000000",
            "1.000000",
            "points",
            epoch,
            "",
            "",
            "",
            "",
            "",
        ],
    ]


def test_each_row_says_how_the_voting_power_was_counted(settings):
    settings.CHAIN_SOURCE = "koios"
    poll = closed_poll(
        title="Q4",
        fund_lovelace=1_000_000,
        power_formula="sqrt_stake",
        min_stake_lovelace=5_000_000,
        cap_percent=10,
        causes=[make_cause("Wells"), make_cause("Schools")],
    )
    wells, schools = poll.causes.order_by("poll_entries__position")
    apply_batch(
        [
            tally_message(
                poll,
                5,
                {wells: (30, 2), schools: (10, 1)},
                final=True,
                power={
                    "power_formula": "sqrt_stake",
                    "snapshot_epoch": poll.snapshot_epoch,
                    "eligible": 12,
                    "total_power": 250,
                },
            )
        ]
    )
    poll.refresh_from_db()
    rows = list(csv.reader(io.StringIO(selectors.results_csv([poll]))))
    assert [row[9:13] for row in rows] == [
        HEADER[9:13],
        ["sqrt_stake", str(poll.snapshot_epoch), "12", "250"],
        ["sqrt_stake", str(poll.snapshot_epoch), "12", "250"],
    ]


def test_each_row_names_the_transaction_that_pays_the_cause_and_its_state(settings):
    from polls import services
    from polls.tests.chain.remotes import tx_hash
    from polls.tests.factories import finalized_poll

    settings.CHAIN_SOURCE = "file"
    settings.PAYOUT_EXPLORER_URL = "https://explorer.example/tx/{tx_hash}"
    poll = finalized_poll([1, 1], fund_lovelace=2_000_000)
    first, second = selectors.poll_final_results(poll=poll)
    payout = services.payout_record(poll=poll, tx_hash=tx_hash("first"), causes=[first.cause_id])
    services.payout_confirm_by_hand(payout=payout, note="seen in my wallet")
    rows = list(csv.reader(io.StringIO(selectors.results_csv([poll]))))
    assert [row[13:] for row in rows[1:]] == [
        [
            "confirmed_by_hand",
            tx_hash("first"),
            f"https://explorer.example/tx/{tx_hash('first')}",
        ],
        ["", "", ""],
    ]
