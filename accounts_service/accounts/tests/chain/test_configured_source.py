"""CHAIN_SOURCE and its companions choose and configure the source; a mistake is said plainly."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from accounts.chain.sources import configured_source
from accounts.chain.sources.blockfrost import default_api_url


@pytest.mark.parametrize("network, url", [
    ("mainnet", "https://cardano-mainnet.blockfrost.io/api/v0"),
    ("preprod", "https://cardano-preprod.blockfrost.io/api/v0"),
    ("preview", "https://cardano-preview.blockfrost.io/api/v0"),
])
def test_blockfrost_defaults_to_its_own_url_for_the_network(network, url):
    assert default_api_url(network) == url


@pytest.mark.parametrize("changes, problem", [
    ({"CHAIN_SOURCE": "chainfrost"}, "CHAIN_SOURCE='chainfrost' is not one of"),
    ({"CHAIN_SOURCE": "koios", "CARDANO_NETWORK": "testnet"}, "CARDANO_NETWORK='testnet'"),
    ({"CHAIN_SOURCE": "blockfrost", "BLOCKFROST_PROJECT_ID": "", "BLOCKFROST_API_URL": ""},
     "needs BLOCKFROST_PROJECT_ID"),
])
def test_a_misconfigured_source_is_named(settings, changes, problem):
    for name, value in changes.items():
        setattr(settings, name, value)
    with pytest.raises(ImproperlyConfigured, match=problem):
        configured_source()
