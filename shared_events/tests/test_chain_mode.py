"""The open mode and the epoch clock every service shares (kit/chain_mode.py, kit/epochs.py)."""

import logging
from datetime import UTC, datetime, timedelta

import pytest

from shared_events.kit.chain_mode import announce_mode, mode_summary, open_eligibility
from shared_events.kit.epochs import epoch_at, epoch_start


@pytest.mark.parametrize(
    "source, open_eligibility_set, is_open",
    [
        ("none", False, True),
        ("none", True, True),
        ("blockfrost", False, False),
        ("koios", False, False),
        ("file", False, False),
        ("file", True, True),  # explicitly open although the stake is known
    ],
)
def test_open_mode_is_no_chain_source_or_open_eligibility_said_explicitly(
    settings, source, open_eligibility_set, is_open
):
    settings.CHAIN_SOURCE, settings.OPEN_ELIGIBILITY = source, open_eligibility_set
    assert open_eligibility() is is_open
    assert mode_summary().startswith("open mode" if is_open else "chain mode")


def test_the_summary_says_why_the_mode_is_open_and_what_it_costs(settings):
    settings.CHAIN_SOURCE, settings.OPEN_ELIGIBILITY = "none", False
    assert mode_summary().startswith("open mode (CHAIN_SOURCE=none)")
    assert "one person with many accounts has many votes" in mode_summary()
    settings.CHAIN_SOURCE, settings.OPEN_ELIGIBILITY = "koios", True
    assert mode_summary().startswith("open mode (OPEN_ELIGIBILITY=true)")
    settings.OPEN_ELIGIBILITY = False
    assert mode_summary().startswith("chain mode (CHAIN_SOURCE=koios)")


@pytest.mark.parametrize(
    "source, level", [("none", logging.WARNING), ("file", logging.INFO), ("koios", logging.INFO)]
)
def test_the_mode_is_announced_in_one_line_the_open_mode_as_a_warning(
    settings, caplog, source, level
):
    settings.CHAIN_SOURCE, settings.OPEN_ELIGIBILITY = source, False
    with caplog.at_level(logging.INFO, logger="somewhere"):
        announce_mode(logging.getLogger("somewhere"))
    [record] = caplog.records
    assert (record.levelno, record.getMessage()) == (level, mode_summary())


EPOCH_208 = datetime(2020, 7, 29, 21, 44, 51, tzinfo=UTC)


@pytest.fixture
def mainnet(settings):
    settings.CARDANO_EPOCH_REFERENCE_NUMBER = 208
    settings.CARDANO_EPOCH_REFERENCE_START = EPOCH_208.isoformat()
    settings.CARDANO_EPOCH_LENGTH_SECONDS = 432000


def test_mainnet_epochs(mainnet):
    assert epoch_at(EPOCH_208) == 208
    assert epoch_at(EPOCH_208 - timedelta(seconds=1)) == 207
    assert epoch_start(209) == datetime(2020, 8, 3, 21, 44, 51, tzinfo=UTC)
    # 292 epochs of 5 days after 2020-07-29: 1,460 days, 2024's 29 February among them.
    assert epoch_start(500) == datetime(2024, 7, 28, 21, 44, 51, tzinfo=UTC)
    assert epoch_at(epoch_start(600) + timedelta(days=4, hours=23)) == 600


def test_short_epochs_for_a_testnet_or_a_demo(settings):
    settings.CARDANO_EPOCH_REFERENCE_NUMBER = 0
    settings.CARDANO_EPOCH_REFERENCE_START = "2022-06-01T00:00:00+00:00"
    settings.CARDANO_EPOCH_LENGTH_SECONDS = 60
    start = datetime(2022, 6, 1, tzinfo=UTC)
    assert [epoch_at(start + timedelta(seconds=s)) for s in (0, 59, 60, 3600)] == [0, 0, 1, 60]
    assert epoch_start(60) == start + timedelta(hours=1)
