"""The price table's first values (USD per delivered template message): Russia,
Indonesia and Austria as the business gave them; the others copied from
WhatsApp's published rate card (rates effective 2025-07-01). Admins edit them."""

import datetime as dt
from decimal import Decimal

from django.db import migrations

COPIED_ON = dt.date(2026, 12, 7)
# country: (marketing, utility)
RATES = {
    "RU": ("0.0477", None),
    "ID": ("0.0042", None),
    "AT": ("0.0932", None),
    "IT": ("0.0691", "0.0300"),
    "DE": ("0.1365", "0.0550"),
    "ES": ("0.0615", "0.0200"),
    "GB": ("0.0529", "0.0220"),
    "BR": ("0.0625", "0.0068"),
    "IN": ("0.0118", "0.0014"),
    "JP": ("0.0732", "0.0113"),
    "US": ("0.0250", "0.0034"),
}


def seed(apps, schema_editor):
    Price = apps.get_model("campaigns", "Price")
    for country, (marketing, utility) in RATES.items():
        for category, value in (("MARKETING", marketing), ("UTILITY", utility)):
            if value is not None:
                Price.objects.update_or_create(
                    country=country,
                    category=category,
                    defaults={"price": Decimal(value), "copied_on": COPIED_ON},
                )


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
