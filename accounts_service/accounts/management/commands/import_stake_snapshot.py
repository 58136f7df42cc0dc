"""`manage.py import_stake_snapshot FILE [--epoch N]`: the `file` chain source. Imports the
pool's stake distribution per epoch from a CSV or JSON export of the pool's own db-sync (shapes:
accounts/chain/sources/snapshot_file.py, README "Chain source"). All or nothing: a bad line or
an epoch stored with other rows imports nothing and exits 1, naming the problem."""

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.chain.sources import StakeSnapshotFileError
from accounts.services import stake_snapshot_import
from shared_events.kit.errors import Conflict


class Command(BaseCommand):
    help = (
        "Import the pool's active stake distribution of one or more epochs from a CSV or "
        "JSON file (columns stake_address, epoch, lovelace)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="path of the CSV or JSON file")
        parser.add_argument(
            "--epoch",
            type=int,
            default=None,
            help="the one epoch the file holds; needed for an epoch without "
            "delegators (a file with no rows)",
        )

    def handle(self, *args, file, epoch, **options):
        try:
            with open(file, "rb") as stream:
                imported = stake_snapshot_import(stream=stream, epoch=epoch)
        except OSError as error:
            raise CommandError(f"{file}: {error.strerror}") from None
        except StakeSnapshotFileError as error:
            raise CommandError(f"{file}: {error}") from None
        except (Conflict, ImproperlyConfigured) as error:
            raise CommandError(str(error)) from None
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        for result in imported:
            self.stdout.write(result.describe())
