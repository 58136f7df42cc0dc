"""CHAIN_SOURCE and its companions choose and configure the source; a mistake is said plainly."""

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured

from accounts.chain.checks import chain_source_configured
from accounts.chain.sources import configured_source
from accounts.chain.sources.blockfrost import default_api_url

from .remotes import POOL


@pytest.mark.parametrize(
    "network, url",
    [
        ("mainnet", "https://cardano-mainnet.blockfrost.io/api/v0"),
        ("preprod", "https://cardano-preprod.blockfrost.io/api/v0"),
        ("preview", "https://cardano-preview.blockfrost.io/api/v0"),
    ],
)
def test_blockfrost_defaults_to_its_own_url_for_the_network(network, url):
    assert default_api_url(network) == url


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"CHAIN_SOURCE": "chainfrost"}, "CHAIN_SOURCE='chainfrost' is not one of"),
        ({"CHAIN_SOURCE": "koios", "CARDANO_NETWORK": "testnet"}, "CARDANO_NETWORK='testnet'"),
        (
            {"CHAIN_SOURCE": "blockfrost", "BLOCKFROST_PROJECT_ID": "", "BLOCKFROST_API_URL": ""},
            "needs BLOCKFROST_PROJECT_ID",
        ),
    ],
)
def test_a_misconfigured_source_is_named(settings, changes, problem):
    for name, value in changes.items():
        setattr(settings, name, value)
    with pytest.raises(ImproperlyConfigured, match=problem):
        configured_source()


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"CHAIN_SOURCE": "koios", "POOL_ID": ""}, "POOL_ID='' is not a bech32 pool id"),
        ({"CHAIN_SOURCE": "file", "POOL_ID": "pool1nope"}, "POOL_ID='pool1nope'"),
        (
            {
                "CHAIN_SOURCE": "blockfrost",
                "POOL_ID": POOL,
                "BLOCKFROST_PROJECT_ID": "",
                "BLOCKFROST_API_URL": "",
            },
            "needs BLOCKFROST_PROJECT_ID",
        ),
    ],
)
def test_the_system_check_names_a_source_that_cannot_work(settings, changes, problem):
    for name, value in changes.items():
        setattr(settings, name, value)
    errors = chain_source_configured(None)
    assert [e.id for e in errors] == ["accounts.E101"] and problem in errors[0].msg


@pytest.mark.parametrize("kind", ["none", "koios"])
def test_the_system_check_passes_a_working_configuration(settings, kind):
    settings.CHAIN_SOURCE, settings.POOL_ID = kind, POOL
    assert chain_source_configured(None) == []
    assert "accounts.E101" not in [e.id for e in run_checks()]
