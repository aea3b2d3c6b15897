"""Reconcile each account's templates with WhatsApp's list now (the clock does it
every INBOX_TEMPLATES_SYNC_EVERY seconds)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from conversations.models import WhatsAppNumber
from templates_app import services


class Command(BaseCommand):
    help = "Bring every account's templates in line with WhatsApp's list."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--waba-id", help="only this WhatsApp Business Account")

    def handle(self, *args: Any, **options: Any) -> None:
        accounts = (
            [options["waba_id"]]
            if options["waba_id"]
            else sorted(set(WhatsAppNumber.objects.values_list("waba_id", flat=True)))
        )
        for waba_id in accounts:
            changed = services.templates_sync(waba_id=waba_id)
            self.stdout.write(f"{waba_id}: {changed} template(s) changed")
