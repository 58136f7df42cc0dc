"""Operators see the stake history and the chain source's state in the admin and from the
command line, and import db-sync exports (the `file` source) from either."""

import io
import json
from datetime import UTC, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.chain.sources import StakeRow
from accounts.models import ChainSyncState, EpochStake, EpochStakeImport
from accounts.services import epoch_stake_import

from .chain.remotes import POOL, distribution, stake_addresses
from .conftest import PASSWORD

pytestmark = pytest.mark.django_db
A, B = stake_addresses(2)


@pytest.fixture(autouse=True)
def _pool(settings):
    settings.POOL_ID = POOL
    settings.CARDANO_NETWORK = "mainnet"


@pytest.fixture
def operator_browser(client, operator):
    assert client.login(email=operator.email, password=PASSWORD)
    return client


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_the_command_imports_a_csv_file(tmp_path):
    path = write(
        tmp_path,
        "stake.csv",
        f"stake_address,epoch,lovelace\n{A},512,10\n{B},512,2500000\n{A},513,11\n",
    )
    out = io.StringIO()
    call_command("import_stake_snapshot", path, stdout=out)
    assert out.getvalue().splitlines() == [
        "epoch 512: 2 delegators, 2.500010 ada (imported)",
        "epoch 513: 1 delegator, 0.000011 ada (imported)",
    ]
    assert EpochStakeImport.objects.get(epoch=512).source == "file"
    call_command("import_stake_snapshot", path, stdout=(again := io.StringIO()))
    assert "already stored, unchanged" in again.getvalue()
    assert EpochStake.objects.count() == 3


def test_the_command_imports_an_epoch_without_delegators(tmp_path):
    call_command(
        "import_stake_snapshot",
        write(tmp_path, "empty.json", "[]"),
        "--epoch",
        "600",
        stdout=io.StringIO(),
    )
    assert EpochStakeImport.objects.get(epoch=600).delegators == 0


@pytest.mark.parametrize(
    "text, problem",
    [
        (f"stake_address,epoch,lovelace\n{A},512,10\n{B},512,-3\n", "line 3: not an amount"),
        (f"stake_address,epoch,lovelace\n{A},512,10\n{A},512,10\n", "line 3: "),
        ('[{"stake_address": 5}]', "item 1: columns must be"),
    ],
)
def test_the_command_names_the_line_and_imports_nothing(tmp_path, text, problem):
    path = write(tmp_path, "bad.txt", text)
    with pytest.raises(CommandError, match=problem):
        call_command("import_stake_snapshot", path)
    assert not EpochStakeImport.objects.exists()


def test_a_file_with_an_epoch_stored_otherwise_imports_nothing(tmp_path):
    epoch_stake_import(epoch=513, pool_id=POOL, rows=[StakeRow(A, 99)], source="koios")
    path = write(tmp_path, "s.csv", f"stake_address,epoch,lovelace\n{A},512,10\n{A},513,11\n")
    with pytest.raises(CommandError, match="Epoch 513 is stored already"):
        call_command("import_stake_snapshot", path)
    assert list(EpochStakeImport.objects.values_list("epoch", flat=True)) == [513]


def test_the_command_needs_a_pool_and_a_readable_file(tmp_path, settings):
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_stake_snapshot", str(tmp_path / "missing.csv"))
    settings.POOL_ID = ""
    with pytest.raises(CommandError, match="POOL_ID='' is not a bech32 pool id"):
        call_command("import_stake_snapshot", write(tmp_path, "s.json", "[]"), "--epoch", "1")


def test_chain_status_in_open_mode(settings):
    settings.CHAIN_SOURCE = "none"
    out = io.StringIO()
    call_command("chain_status", "--json", stdout=out)
    status = json.loads(out.getvalue())
    assert (status["open_mode"], status["problems"]) == (True, [])
    assert "open mode" in status["summary"]


def test_chain_status_says_stale_since_and_exits_1(settings):
    settings.CHAIN_SOURCE = "koios"
    epoch_stake_import(epoch=512, pool_id=POOL, rows=[StakeRow(A, 5)], source="koios")
    since = timezone.now() - timedelta(hours=3)
    ChainSyncState.objects.create(
        id=1,
        source="koios",
        last_success_at=since - timedelta(hours=1),
        failing_since=since,
        last_error="Koios tip: server error 503",
    )
    out = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("chain_status", stdout=out)
    assert exited.value.code == 1
    assert out.getvalue().strip() == (
        f"chain source: koios, newest epoch 512 (1 delegator); STALE since "
        f"{since.astimezone(UTC):%Y-%m-%d %H:%M} UTC: Koios tip: server error 503"
    )


def test_the_admin_shows_the_history_and_the_sources_state(operator_browser, settings):
    settings.CHAIN_SOURCE = "koios"
    epoch_stake_import(
        epoch=512,
        pool_id=POOL,
        rows=[StakeRow(a, int(v)) for a, v in distribution(3)],
        source="koios",
    )
    ChainSyncState.objects.create(
        id=1, source="koios", failing_since=timezone.now(), last_error="Koios tip: server error 503"
    )
    page = operator_browser.get("/accounts/admin/accounts/epochstakeimport/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "STALE since" in text and "server error 503" in text and "Import a stake" in text
    rows = operator_browser.get("/accounts/admin/accounts/epochstake/?epoch__epoch__exact=512")
    assert rows.status_code == 200 and distribution(3)[0][0] in rows.content.decode()
    # Read-only: no adding, changing or deleting rows of the history.
    assert operator_browser.get("/accounts/admin/accounts/epochstake/add/").status_code == 403
    row = EpochStake.objects.first()
    deleted = operator_browser.post(
        f"/accounts/admin/accounts/epochstake/{row.pk}/delete/", {"post": "yes"}
    )
    assert deleted.status_code == 403 and EpochStake.objects.filter(pk=row.pk).exists()


def test_the_admin_imports_a_file(operator_browser):
    url = "/accounts/admin/accounts/epochstakeimport/import/"
    assert operator_browser.get(url).status_code == 200
    upload = SimpleUploadedFile("stake.csv", f"stake_address,epoch,lovelace\n{A},512,10\n".encode())
    done = operator_browser.post(url, {"file": upload})
    assert done.status_code == 302
    assert EpochStakeImport.objects.get(epoch=512).delegators == 1


def test_the_admin_shows_a_bad_file_on_the_form(operator_browser):
    upload = SimpleUploadedFile("stake.csv", f"stake_address,epoch,lovelace\n{A},512,x\n".encode())
    page = operator_browser.post(
        "/accounts/admin/accounts/epochstakeimport/import/", {"file": upload}
    )
    assert page.status_code == 200
    assert "stake.csv: line 2: not an amount of lovelace: &#x27;x&#x27;" in page.content.decode()
    assert not EpochStakeImport.objects.exists()


def test_delegators_do_not_reach_the_import(client, delegator):
    client.login(email=delegator.email, password=PASSWORD)
    page = client.get("/accounts/admin/accounts/epochstakeimport/import/")
    assert page.status_code == 302 and "/login/" in page["Location"]
