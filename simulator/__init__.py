"""A local stand-in for the WhatsApp Cloud API, for the demo and end-to-end tests.

It is the other side of the wire: it answers the Graph API calls a business app makes and
posts signed webhooks as the platform would. It depends on the standard library and
``requests`` only, and nothing in the product imports it.

    with Simulator("http://127.0.0.1:8000/webhooks/whatsapp/", app_secret, token) as sim:
        sim.customer_says("16505551234", "Where is my order?")
        # point the app's WHATSAPP_GRAPH_URL at sim.graph_url

Run it on its own with ``python -m simulator --help``.
"""

from simulator.core import WINDOW_SECONDS, Simulator

__all__ = ["WINDOW_SECONDS", "Simulator"]
