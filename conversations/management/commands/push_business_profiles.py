from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from conversations import services
from conversations.models import BusinessProfile


class Command(BaseCommand):
    help = (
        "Send every business profile waiting to go to WhatsApp now, in this process, "
        "and say how each went (the demo runs it once the simulator is up)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        waiting = BusinessProfile.objects.filter(sync_state=BusinessProfile.Sync.PENDING)
        for number_id in waiting.values_list("number_id", flat=True):
            # The last attempt: no retry is scheduled, a failure is reported here.
            push = services.business_profile_push(
                number_id=number_id, attempt=services.PROFILE_PUSH_ATTEMPTS
            )
            profile = push.profile
            if profile is None:
                continue
            outcome = BusinessProfile.Sync(profile.sync_state).label if profile.sync_state else ""
            detail = f": {profile.sync_error}" if profile.sync_error else ""
            self.stdout.write(f"  {profile.number}: {outcome}{detail}")
