"""`manage.py createoperator --email E --password P`: an operator for all three admins."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.services import operator_create


class Command(BaseCommand):
    help = "Create an operator account (staff in every service's admin)."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)

    def handle(self, *args, email, password, **options):
        try:
            account = operator_create(email=email, password=password)
        except ValidationError as exc:
            details = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
            raise CommandError(
                "; ".join(f"{k}: {' '.join(v)}" if k else " ".join(v) for k, v in details.items())
            ) from None
        self.stdout.write(f"operator {account.email} created ({account.id})")
