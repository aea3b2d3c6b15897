"""Admins write templates: create a draft, edit it, choose the teams that may use
it, delete it, and submit it for WhatsApp's review once the checks find no error.
Editing a template WhatsApp knows resubmits it, within the platform's limits."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from conversations.enqueue import enqueue_on_commit
from conversations.models import Team, WhatsAppNumber
from templates_app.checks import Finding, check_template
from templates_app.models import MessageTemplate, TemplateChange, TemplateVersion
from templates_app.services.common import lock_template, publish_template, record_change, set_status
from templates_app.services.errors import (
    DuplicateTemplate,
    EditLimitReached,
    InvalidTemplate,
    TemplateBusy,
    TemplateChecksFailed,
)

NAME = re.compile(r"^[a-z0-9_]{1,512}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2,3})?$")
# WhatsApp reviews an edit of an approved template at most once a day and ten
# times in thirty days.
EDITS_PER_DAY = 1
EDITS_PER_MONTH = 10
# Statuses in which WhatsApp has the template and an edit goes to it as one.
ON_THE_PLATFORM = {
    MessageTemplate.Status.APPROVED,
    MessageTemplate.Status.PAUSED,
    MessageTemplate.Status.REJECTED,
}
# Statuses in which nothing may change until WhatsApp answers.
BUSY = {MessageTemplate.Status.SUBMITTING, MessageTemplate.Status.PENDING}
FINAL = {MessageTemplate.Status.DELETED, MessageTemplate.Status.PENDING_DELETION}

SUBMIT_JOB = "templates_app.jobs.submit_template"
DELETE_JOB = "templates_app.jobs.delete_template"


def template_create(
    *,
    actor: Any,
    waba_id: str,
    name: str,
    language: str,
    category: str,
    parameter_format: str = MessageTemplate.ParameterFormat.POSITIONAL,
    components: list[dict[str, Any]],
    allowed_teams: list[int] | None = None,
) -> MessageTemplate:
    """A new draft (status ``DRAFT``): nothing goes to WhatsApp until it is submitted.
    Only what makes it a template at all is refused here (an unknown account, a
    name, language or category WhatsApp would never take, a second template of the
    same name and language); everything else the checks report at submission."""
    _valid_identity(waba_id=waba_id, name=name, language=language)
    category = _valid_choice(category.upper(), MessageTemplate.Category, "category")
    parameter_format = _valid_choice(
        parameter_format.upper(), MessageTemplate.ParameterFormat, "parameter_format"
    )
    teams = _teams(allowed_teams or [])
    try:
        with transaction.atomic():
            template = MessageTemplate.objects.create(
                waba_id=waba_id,
                name=name,
                language=language,
                category=category,
                parameter_format=parameter_format,
                components=_valid_components(components),
                created_by=actor if getattr(actor, "pk", None) else None,
            )
            template.allowed_teams.set(teams)
            record_change(
                template,
                TemplateChange.Kind.STATUS,
                old="",
                new=template.status,
                source=TemplateChange.Source.ADMIN,
                actor=actor,
            )
            publish_template(template)
    except IntegrityError as exc:
        raise DuplicateTemplate(
            f"There is already a template {name} in {language} for this account."
        ) from exc
    return template


def template_update(
    *,
    actor: Any,
    template: MessageTemplate,
    fields: dict[str, Any],
) -> MessageTemplate:
    """Change a template. The teams that may use it change at once. Its content
    (category, parameter format, components) may change while it is a draft, or once
    WhatsApp answered: a template WhatsApp knows is then submitted again, as the
    platform reviews an edit (at most once a day and ten times a month for an
    approved one); ``TemplateChecksFailed`` when the checks find errors then. Name,
    language and account never change: make a new template instead."""
    content = {k: fields[k] for k in ("category", "parameter_format", "components") if k in fields}
    with transaction.atomic():
        template = lock_template(template.pk)
        if template.status in FINAL:
            raise InvalidTemplate("This template is deleted.")
        for fixed in ("waba_id", "name", "language"):
            if fixed in fields and fields[fixed] != getattr(template, fixed):
                raise InvalidTemplate(
                    f"A template's {fixed.replace('_', ' ')} cannot change: make a new template."
                )
        if "allowed_teams" in fields:
            template.allowed_teams.set(_teams(fields["allowed_teams"] or []))
        if content:
            if template.status in BUSY:
                raise TemplateBusy("WhatsApp is reviewing this template: wait for its answer.")
            if "category" in content:
                category = _valid_choice(
                    str(content["category"]).upper(), MessageTemplate.Category, "category"
                )
                if template.platform_id and category != template.category:
                    raise InvalidTemplate(
                        "WhatsApp does not let a submitted template change its category: "
                        "make a new template."
                    )
                template.category = category
            if "parameter_format" in content:
                template.parameter_format = _valid_choice(
                    str(content["parameter_format"]).upper(),
                    MessageTemplate.ParameterFormat,
                    "parameter_format",
                )
            if "components" in content:
                template.components = _valid_components(content["components"])
            if template.platform_id and template.status in ON_THE_PLATFORM:
                _queue_submission(template, actor=actor, edit=True)
        template.updated_at = timezone.now()
        template.save()
        publish_template(template)
    return template


def template_submit(*, actor: Any, template: MessageTemplate) -> MessageTemplate:
    """Send a draft (or a template WhatsApp rejected, fixed) for review: the checks
    run first, and any error refuses it (``TemplateChecksFailed`` with the findings;
    nothing is sent). Then a job posts it after commit; the status is ``SUBMITTING``
    until WhatsApp takes it (``PENDING``) or refuses the request (back to ``DRAFT``
    with WhatsApp's error)."""
    with transaction.atomic():
        template = lock_template(template.pk)
        if template.status in BUSY:
            raise TemplateBusy("This template is already on its way to WhatsApp's review.")
        if template.status not in (MessageTemplate.Status.DRAFT, MessageTemplate.Status.REJECTED):
            raise TemplateBusy(
                "Only a draft, or a template WhatsApp rejected, is submitted; "
                "edit an approved template to submit it again."
            )
        _queue_submission(template, actor=actor, edit=bool(template.platform_id))
        template.save()
        publish_template(template)
    return template


def template_delete(*, actor: Any, template: MessageTemplate) -> MessageTemplate | None:
    """Delete a template. A draft WhatsApp never saw and nobody sent goes at once
    (None); one WhatsApp knows is deleted there too by a job (``PENDING_DELETION``,
    then ``DELETED``), and stays readable with the messages sent with it."""
    with transaction.atomic():
        template = lock_template(template.pk)
        if template.status in FINAL:
            return template
        if not template.platform_id and template.status != MessageTemplate.Status.SUBMITTING:
            if not template.sends.exists():
                template.delete()
                return None
            set_status(
                template,
                MessageTemplate.Status.DELETED,
                source=TemplateChange.Source.ADMIN,
                actor=actor,
            )
        else:
            set_status(
                template,
                MessageTemplate.Status.PENDING_DELETION,
                source=TemplateChange.Source.ADMIN,
                actor=actor,
            )
            enqueue_on_commit(DELETE_JOB, template.pk)
        template.updated_at = timezone.now()
        template.save()
        publish_template(template)
    return template


def template_findings(template: MessageTemplate) -> list[Finding]:
    """What the checks say of the template as it is now."""
    return check_template(
        name=template.name,
        language=template.language,
        category=template.category,
        parameter_format=template.parameter_format,
        components=template.components,
    )


def _queue_submission(template: MessageTemplate, *, actor: Any, edit: bool) -> None:
    """Checks, edit limits, a new version and the status ``SUBMITTING``; the job runs
    after commit. ``template`` is locked; the caller saves it."""
    errors = [f for f in template_findings(template) if f.severity == "error"]
    if errors:
        raise TemplateChecksFailed(
            "The checks found errors: fix them before submitting.", findings=errors
        )
    now = timezone.now()
    if edit and template.status == MessageTemplate.Status.APPROVED:
        _within_edit_limits(template, now)
    number = (
        template.versions.order_by("-number").values_list("number", flat=True).first() or 0
    ) + 1
    TemplateVersion.objects.create(
        template=template,
        number=number,
        category=template.category,
        parameter_format=template.parameter_format,
        components=template.components,
        submitted_at=now,
    )
    template.version = number
    template.submitted_at = now
    template.error_code = None
    template.error_title = template.error_details = ""
    set_status(
        template,
        MessageTemplate.Status.SUBMITTING,
        source=TemplateChange.Source.ADMIN,
        actor=actor,
        data={"version": number, "edit": edit},
    )
    enqueue_on_commit(SUBMIT_JOB, template.pk)


def _within_edit_limits(template: MessageTemplate, now: dt.datetime) -> None:
    """An approved template's edits: once a day, ten times in thirty days."""
    edits = template.changes.filter(
        kind=TemplateChange.Kind.STATUS,
        new=MessageTemplate.Status.SUBMITTING,
        data__edit=True,
    )
    if edits.filter(at__gt=now - dt.timedelta(days=1)).count() >= EDITS_PER_DAY:
        raise EditLimitReached(
            "WhatsApp takes one edit of an approved template a day: try again tomorrow."
        )
    if edits.filter(at__gt=now - dt.timedelta(days=30)).count() >= EDITS_PER_MONTH:
        raise EditLimitReached(
            "WhatsApp takes ten edits of an approved template in thirty days: "
            "make a new template instead."
        )


def _valid_identity(*, waba_id: str, name: str, language: str) -> None:
    if not WhatsAppNumber.objects.filter(waba_id=waba_id).exists():
        raise InvalidTemplate(f"No registered number belongs to the account {waba_id}.")
    if not NAME.match(name or ""):
        raise InvalidTemplate(
            "A template's name has only lowercase letters, digits and underscores (at most 512)."
        )
    if not LANGUAGE.match(language or ""):
        raise InvalidTemplate(f"{language!r} is not a language code WhatsApp knows (en_US, ru, …).")


def _valid_choice(value: str, choices: Any, field: str) -> str:
    if value not in choices.values:
        raise InvalidTemplate(f"{field} must be one of {', '.join(choices.values)}.")
    return value


def _valid_components(components: Any) -> list[dict[str, Any]]:
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        raise InvalidTemplate("components must be a list of objects, in WhatsApp's shape.")
    return components


def _teams(ids: list[int]) -> list[Team]:
    teams = list(Team.objects.filter(pk__in=ids))
    if len(teams) != len(set(ids)):
        raise InvalidTemplate("allowed_teams names a team that does not exist.")
    return teams
