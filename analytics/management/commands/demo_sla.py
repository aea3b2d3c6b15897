"""``python manage.py demo_sla``: the demo's answer-speed targets, so that the
operators' SLA clocks and the supervisors' dashboard have something to show.
Run by ``make demo`` after ``demo_setup``; running it again changes nothing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from analytics import services
from analytics.models import SlaPolicy
from conversations.models import Team


class Command(BaseCommand):
    help = "Give the demo's teams SLA targets (first response, next reply, resolution)."

    def handle(self, *args: Any, **options: Any) -> None:
        for team in Team.objects.filter(name__in=["Support", "Sales"]):
            if SlaPolicy.objects.filter(team=team).exists():
                continue
            services.sla_policy_create(
                data={
                    "name": f"{team.name} targets",
                    "team": team,
                    "first_response_minutes": 5,
                    "next_reply_minutes": 10,
                    "resolution_minutes": 240,
                    "business_hours": False,
                }
            )
            self.stdout.write(f"SLA targets for {team.name}: 5 / 10 / 240 minutes")
