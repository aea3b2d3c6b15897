"""What the campaign services refuse, each with its machine-readable code and HTTP
status (the API answers with both, like the core's ``ServiceError``)."""

from __future__ import annotations

from conversations.services import ServiceError


class InvalidCampaign(ServiceError):
    code = "invalid_campaign"
    http_status = 400


class WrongState(ServiceError):
    """The campaign is not in a state that allows the action (start a running one...)."""

    code = "wrong_state"
    http_status = 409
