"""An operator sends a template in a conversation: an approved template of the
conversation's account that the operator's team may use, with the variables
filled; it leaves through the core's one send service."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from conversations import selectors as conversation_selectors
from conversations import services
from conversations.models import Conversation, Message, SendPath
from templates_app import selectors
from templates_app.models import MessageTemplate, TemplateSend
from templates_app.services.errors import (
    InvalidParameters,
    TemplateNotAllowed,
    TemplateNotApproved,
)
from whatsapp.templates import TemplateParametersError, render_template, template_components


def template_send(
    *,
    conversation: Conversation,
    user: Any,
    template_id: Any,
    parameters: dict[str, Any],
    path: str = SendPath.COMPOSER,
) -> Message:
    """Queue ``template_id`` for the customer of ``conversation``, inside the window
    or outside it. ``parameters``: ``{"header": [...], "body": [...] or {name: value},
    "buttons": [...]}``; ``path``: how it leaves (``composer``, ``api``...).

    Raises ``TemplateNotApproved`` (409) when WhatsApp has not approved it (or paused
    or disabled it), ``TemplateNotAllowed`` (409) when it is not one the user's teams
    may use or belongs to another account, ``InvalidParameters`` (400) when a value is
    missing or one too many, and the core's ``SendRefused`` (409, with the send rule's
    code) when a send rule refuses it. Nothing is sent then; a refusal by a rule or
    for an unapproved template is in the compliance log."""
    template = MessageTemplate.objects.filter(pk=_int(template_id)).first()
    number_waba = conversation.number.waba_id
    if template is None or template.waba_id != number_waba:
        raise TemplateNotAllowed("This chat's number cannot send that template.")
    if not selectors.template_usable_by(template, user):
        raise TemplateNotAllowed("Your teams may not use this template.")
    if template.status != MessageTemplate.Status.APPROVED:
        detail = (
            f"WhatsApp has not approved this template (it is {template.status.lower()}): "
            "only an approved template can be sent."
        )
        services.compliance_log_record(
            contact=conversation.contact,
            path=path,
            reason="template_not_approved",
            template=template.name,
            detail=detail,
        )
        raise TemplateNotApproved(detail)
    try:
        components = template_components(
            template.components, parameters or {}, parameter_format=template.parameter_format
        )
        text = render_template(
            template.components, parameters or {}, parameter_format=template.parameter_format
        ).text
    except TemplateParametersError as exc:
        raise InvalidParameters(str(exc)) from exc
    # Not wrapped in a transaction of ours: the core writes a refusal to the
    # compliance log after its own, and the usage row commits with the message.
    return services.message_send_template(
        conversation=conversation,
        user=user,
        name=template.name,
        language=template.language,
        components=components,
        text=text,
        category=template.category,
        path=path,
        on_queued=lambda message: TemplateSend.objects.create(
            template=template, message=message, parameters=parameters
        ),
    )


def template_refusal(
    *, conversation: Conversation, template: MessageTemplate, now: Any = None
) -> services.Refusal | None:
    """What the core's send rules would say now of sending ``template`` in
    ``conversation`` by hand (None: it may go): the picker greys out the rest."""
    if template.status != MessageTemplate.Status.APPROVED:
        return services.Refusal("template_not_approved", "WhatsApp has not approved this template.")
    now = now or timezone.now()
    return services.send_verdict(
        contact=conversation.contact,
        waba_id=conversation.number.waba_id,
        template_category=template.category,
        path=SendPath.COMPOSER,
        window_open=conversation.window_expires_at(now) is not None,
        now=now,
    )


def templates_for_conversation(*, conversation: Conversation, user: Any) -> list[MessageTemplate]:
    """The approved templates of the chat's number that ``user`` may send, in the
    customer's language first."""
    if not conversation_selectors.user_may_see(user, conversation):
        return []
    language = services.contact_language(conversation.contact)
    templates = [
        t
        for t in selectors.templates_usable_by(user).filter(
            waba_id=conversation.number.waba_id, status=MessageTemplate.Status.APPROVED
        )
    ]
    return sorted(templates, key=lambda t: (not t.language.startswith(language or "-"), t.name))


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1
