"""Admins edit the price table, each number's pace and the accounts' tiers here;
campaigns and health reports are read-only (they change through the page, the API
and WhatsApp's webhooks)."""

from __future__ import annotations

from django.contrib import admin

from campaigns.models import AccountTier, Campaign, HealthEvent, NumberPace, Price


@admin.register(Price)
class PriceAdmin(admin.ModelAdmin):
    list_display = ("country", "category", "price", "copied_on")
    list_filter = ("category",)
    list_editable = ("price", "copied_on")
    search_fields = ("country",)


@admin.register(NumberPace)
class NumberPaceAdmin(admin.ModelAdmin):
    list_display = ("number", "messages_per_second", "quality", "restricted", "updated_at")
    list_editable = ("messages_per_second",)


@admin.register(AccountTier)
class AccountTierAdmin(admin.ModelAdmin):
    list_display = ("waba_id", "tier", "restricted", "updated_at")


@admin.register(HealthEvent)
class HealthEventAdmin(admin.ModelAdmin):
    list_display = ("at", "waba_id", "number", "event", "quality", "tier", "restriction", "paused")
    list_filter = ("field", "quality")

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "number", "category", "status", "created_at")
    list_filter = ("status",)

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False
