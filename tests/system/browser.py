"""A real browser for the system tests: Debian's Chromium driven by Playwright; screenshots of
a page at a phone's width and a desktop's; and a CIP-30 wallet injected into the pages whose
`signData` calls back into the test, which signs with a real stake key (pycardano, CIP-8)."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pycardano import Address, Network, StakeSigningKey
from pycardano.cip import cip8

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# What this closed network needs: no background connections Chromium would make on its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
WIDTHS = {"phone": (390, 844), "desktop": (1280, 900)}


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (a Playwright Browser); new_context() per test keeps them apart."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM is not None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def capture(page: Any, directory: Path, name: str) -> list[Path]:
    """The page at a phone's width and a desktop's: <name>-phone.png, <name>-desktop.png."""
    directory.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    paths = []
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        path = directory / f"{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        paths.append(path)
        print(f"screenshot: {path}")
    if before:
        page.set_viewport_size(before)
    return paths


@dataclass
class StakeKeyWallet:
    """A stake key, and what a CIP-30 wallet holding it answers."""

    name: str = "Test wallet"
    network: Network = Network.MAINNET
    signing_key: StakeSigningKey = field(default_factory=StakeSigningKey.generate)
    signed: list[str] = field(default_factory=list)  # the messages it was asked to sign
    refuse: bool = False  # the holder declines to sign

    @property
    def address(self) -> Address:
        return Address(
            staking_part=self.signing_key.to_verification_key().hash(), network=self.network
        )

    @property
    def stake_address(self) -> str:
        return str(self.address)

    @property
    def reward_address_hex(self) -> str:
        """The address as CIP-30's getRewardAddresses gives it: the hex of its bytes."""
        return bytes(self.address.to_primitive()).hex()

    def sign_data(self, address_hex: str, payload_hex: str) -> dict[str, str]:
        assert address_hex == self.reward_address_hex, "signData was asked for another address"
        message = bytes.fromhex(payload_hex).decode("utf-8")
        self.signed.append(message)
        if self.refuse:
            # What a wallet's DataSignError looks like when its holder declines (CIP-30).
            return {"error": {"code": 3, "info": "user declined to sign"}}
        return cip8.sign(message, self.signing_key, attach_cose_key=True, network=self.network)


# A small blue disc: a wallet's icon is an inline image (CIP-30 `icon`).
_ICON = (
    "data:image/svg+xml;base64,"
    + base64.b64encode(
        b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
        b'<circle cx="5" cy="5" r="5" fill="#0b57a4"/></svg>'
    ).decode()
)

# window.cardano.<key>: a CIP-30 wallet whose signData asks the test (exposed function).
_WALLET_SCRIPT = """
(() => {
  const reward = %(reward)s;
  const api = {
    getNetworkId: async () => %(network_id)d,
    getRewardAddresses: async () => [reward],
    signData: async (address, payload) => {
      const answer = await window.%(callback)s(address, payload);
      if (answer.error) throw answer.error;
      return answer;
    },
  };
  window.cardano = window.cardano || {};
  window.cardano[%(key)s] = {
    name: %(name)s,
    apiVersion: "0.1.0",
    icon: %(icon)s,
    isEnabled: async () => true,
    enable: async () => api,
  };
})();
"""


def inject_wallet(context: Any, wallet: StakeKeyWallet, key: str = "testwallet") -> None:
    """Every page of `context` finds `wallet` at window.cardano[key]; its signData is answered
    by the test's Python (Playwright's expose_function), with the real stake key."""
    callback = f"__signData_{key}"
    sign: Callable[[str, str], dict[str, Any]] = wallet.sign_data
    context.expose_function(callback, sign)
    context.add_init_script(
        _WALLET_SCRIPT
        % {
            "reward": json.dumps(wallet.reward_address_hex),
            "network_id": 1 if wallet.network == Network.MAINNET else 0,
            "callback": callback,
            "key": json.dumps(key),
            "name": json.dumps(wallet.name),
            "icon": json.dumps(_ICON),
        }
    )
