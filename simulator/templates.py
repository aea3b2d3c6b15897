"""Message templates as a WhatsApp Business Account keeps them: their statuses, how the
Graph API shows and pages them, how review ends, and the values of the webhooks that report
a status, a quality rating or a category change.

Pure, no I/O. ``TemplateBook`` holds one account's templates, ``ReviewRules`` how review
ends unless an outcome was queued, ``status_update``, ``quality_update`` and
``category_update`` the webhooks' values; ``simulator.core`` calls them under the
simulator's lock and does the HTTP and the webhooks. What a template must look like is in
``template_content``, what a send of one must carry in ``template_sends``.
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from simulator import template_content, wire

# The statuses review and quality rating move a template to; each posts its webhook event.
STATUS_EVENTS = ("APPROVED", "REJECTED", "PAUSED", "DISABLED")
# The webhook's ``reason`` values (NONE for everything but a rejection).
REASONS = (
    "NONE",
    "ABUSIVE_CONTENT",
    "INCORRECT_CATEGORY",
    "INVALID_FORMAT",
    "PROMOTIONAL",
    "SCAM",
    "TAG_CONTENT_MISMATCH",
)

NODE_TYPE = "WhatsAppBusinessHSM"
FIELDS = ("name", "parameter_format", "components", "language", "status", "category", "id")
EXTRA_FIELDS = ("rejected_reason", "quality_score")
LIST_LIMIT = 25
# After a deletion the name stays taken in that language for four weeks.
DELETED_NAME_HOLD = 28 * 24 * 3600
# An approved template may be edited once a day.
EDIT_INTERVAL = 24 * 3600


@dataclass
class Template:
    """One template in one language, as the account keeps it."""

    id: str
    name: str
    language: str
    category: str
    parameter_format: str
    components: list[dict[str, Any]]
    serial: int
    status: str = "PENDING"
    reason: str = "NONE"
    # Bumped whenever the template is submitted or its status changes, so that a review
    # scheduled for an older submission does nothing.
    revision: int = 0
    # How review will end, decided when it was submitted: (status, reason).
    review: tuple[str, str | None] = ("APPROVED", None)
    pauses: int = 0
    approved_edit_at: float | None = None
    # The quality rating and when it was given (epoch seconds); UNKNOWN until rated.
    quality: str = "UNKNOWN"
    quality_at: int = 0

    def view(self, fields: Sequence[str] = FIELDS) -> dict[str, Any]:
        """The template as the Graph API shows it: ``fields`` in that order, then ``id``."""
        values: dict[str, Any] = {
            "name": self.name,
            "parameter_format": self.parameter_format,
            "components": copy.deepcopy(self.components),
            "language": self.language,
            "status": self.status,
            "category": self.category,
            "rejected_reason": self.reason if self.status == "REJECTED" else "NONE",
            "quality_score": {"score": self.quality, "date": self.quality_at},
            "id": self.id,
        }
        shown = {field: values[field] for field in fields}
        shown["id"] = self.id
        return shown


def parse_fields(text: str | None) -> tuple[str, ...]:
    """The ``fields`` a read asks for (the default ones when none), checked."""
    wanted = tuple(dict.fromkeys(f.strip() for f in (text or "").split(",") if f.strip()))
    for field in wanted:
        if field not in FIELDS and field not in EXTRA_FIELDS:
            raise wire.nonexisting_field(field, NODE_TYPE)
    return wanted or FIELDS


# --- status webhooks -------------------------------------------------------------------------

# What a rejection for INVALID_FORMAT explains (the platform adds a reason of its own words).
INVALID_FORMAT_INFO = {
    "reason": "Your template does not follow the formatting rules for its variables.",
    "recommendation": "Check the template's variables and their sample values, then submit "
    "it again.",
}


def status_update(
    template: Template, event: str, reason: str, *, now: int, was: str
) -> dict[str, Any]:
    """The ``message_template_status_update`` value of a status change, keys in the order
    of the platform's examples (``webhook_template_status_*.json``).

    The examples write the language with a hyphen ("en-US") where the API writes it with
    an underscore ("en_US"); the webhook follows its examples.
    """
    value: dict[str, Any] = {
        "event": event,
        "message_template_id": int(template.id),
        "message_template_name": template.name,
        "message_template_language": template.language.replace("_", "-"),
        "reason": reason,
        "message_template_category": template.category,
    }
    if event == "REJECTED" and reason == "INVALID_FORMAT":
        value["rejection_info"] = dict(INVALID_FORMAT_INFO)
    elif event == "PAUSED":
        hours = 3 if template.pauses == 1 else 6
        value["other_info"] = {
            "title": "FIRST_PAUSE" if template.pauses == 1 else "SECOND_PAUSE",
            "description": f"Your WhatsApp message template has been paused for {hours} hours "
            "because of low quality.",
        }
    elif event == "APPROVED" and was == "PAUSED":
        value["other_info"] = {
            "title": "UNPAUSE",
            "description": "Your WhatsApp message template has been unpaused.",
        }
    elif event == "DISABLED":
        value["disable_info"] = {"disable_date": now}
    return value


def apply_status(template: Template, status: str, reason: str, *, now: int) -> dict[str, Any]:
    """Move ``template`` to ``status`` (a review's end, a pause...) and return the
    ``message_template_status_update`` value that reports it."""
    was = template.status
    if status == "PAUSED":
        template.pauses += 1
    template.status = status
    template.reason = reason
    template.revision += 1
    return status_update(template, status, reason, now=now, was=was)


def check_status(status: str, reason: str | None) -> str:
    """The webhook reason for moving a template to ``status``; raises ``ValueError``."""
    if status not in STATUS_EVENTS:
        raise ValueError(f"status must be one of {', '.join(STATUS_EVENTS)}; got {status!r}")
    if reason is None:
        return "INVALID_FORMAT" if status == "REJECTED" else "NONE"
    if reason not in REASONS or (status == "REJECTED") == (reason == "NONE"):
        allowed = REASONS[1:] if status == "REJECTED" else ("NONE",)
        raise ValueError(f"a {status} template's reason is one of {', '.join(allowed)}")
    return reason


# --- review rules, quality and category --------------------------------------------------


@dataclass(frozen=True)
class ReviewRules:
    """How review ends when no outcome was queued for a submission: a template whose body
    has a word starting with one of ``reject_words`` (in any case) is REJECTED with
    ``reason``; any other is APPROVED."""

    reject_words: tuple[str, ...] = ()
    reason: str = "PROMOTIONAL"

    @classmethod
    def parse(cls, reject_words: Any, reason: Any = "PROMOTIONAL") -> ReviewRules:
        """Rules from a control's values; raises ``ValueError`` for words that are not a
        list of non-blank strings, or a reason a rejection cannot have."""
        if not isinstance(reject_words, list | tuple) or not all(
            isinstance(word, str) and word.strip() for word in reject_words
        ):
            raise ValueError("reject_words must be a list of words (strings, not blank)")
        if not isinstance(reason, str):
            raise ValueError("reason must be a string")
        return cls(tuple(word.strip() for word in reject_words), check_status("REJECTED", reason))

    def outcome(self, template: Template) -> tuple[str, str | None]:
        body = next((c for c in template.components if c["type"] == "BODY"), {})
        text = str(body.get("text", ""))
        for word in self.reject_words:
            if re.search(rf"(?<!\w){re.escape(word)}", text, re.IGNORECASE):
                return ("REJECTED", self.reason)
        return ("APPROVED", None)


QUALITY_SCORES = ("GREEN", "YELLOW", "RED", "UNKNOWN")
# The platform recategorizes a template a day after telling the business it will.
CATEGORY_NOTICE = 24 * 3600


def quality_update(template: Template, quality: str, *, now: int) -> dict[str, Any]:
    """Rate ``template`` ``quality`` and return the ``message_template_quality_update``
    value that reports it, keys in the order of ``webhook_template_quality_update_*.json``.
    Raises ``ValueError`` for another score or the one it has."""
    if quality not in QUALITY_SCORES:
        raise ValueError(f"quality must be one of {', '.join(QUALITY_SCORES)}; got {quality!r}")
    if quality == template.quality:
        raise ValueError(f"the template's quality is {quality} already")
    previous, template.quality, template.quality_at = template.quality, quality, now
    return {
        "previous_quality_score": previous,
        "new_quality_score": quality,
        "message_template_id": int(template.id),
        "message_template_name": template.name,
        "message_template_language": template.language.replace("_", "-"),
    }


def category_update(
    template: Template, category: str, *, impending: bool, now: int
) -> dict[str, Any]:
    """The ``template_category_update`` value for moving ``template`` to ``category``:
    ``impending``, the notice that it will be recategorized in a day (the template keeps
    its category; the platform's ``new_category`` is then the current one), keys as in
    ``webhook_template_category_update_impending.json``; otherwise the change itself,
    applied, with ``previous_category`` and ``new_category``. Raises ``ValueError`` for
    another category or the one it has."""
    if category not in template_content.CATEGORIES:
        raise ValueError(
            f"category must be one of {', '.join(template_content.CATEGORIES)}; got {category!r}"
        )
    if category == template.category:
        raise ValueError(f"the template's category is {category} already")
    value: dict[str, Any] = {
        "message_template_id": int(template.id),
        "message_template_name": template.name,
        "message_template_language": template.language.replace("_", "-"),
    }
    if impending:
        value.update(
            new_category=template.category,
            correct_category=category,
            category_update_timestamp=now + CATEGORY_NOTICE,
        )
    else:
        value.update(previous_category=template.category, new_category=category)
        template.category = category
    return value


# --- the account's templates -----------------------------------------------------------------


class TemplateBook:
    """One WhatsApp Business Account's templates. Not thread-safe: hold the caller's lock."""

    def __init__(self) -> None:
        self._templates: dict[str, Template] = {}
        self._serial = 0
        # (name, language) -> when it was deleted; the pair stays taken for a while.
        self._deleted: dict[tuple[str, str], float] = {}

    def __contains__(self, template_id: object) -> bool:
        return template_id in self._templates

    def get(self, template_id: str) -> Template | None:
        return self._templates.get(template_id)

    def find(self, name: str, language: str) -> Template | None:
        for template in self._templates.values():
            if template.name == name and template.language == language:
                return template
        return None

    def all(self) -> list[Template]:
        """Every template, oldest first."""
        return sorted(self._templates.values(), key=lambda t: t.serial)

    def add(
        self, submission: template_content.Submission, *, template_id: str, now: float
    ) -> Template:
        """Store a new template (PENDING); refuses a name and language already there."""
        key = (submission.name, submission.language)
        if self.find(*key) is not None:
            raise wire.user_error(
                "Content in This Language Already Exists",
                f"There is already {submission.language} content for this template. You can "
                "create a new template and try again.",
                subcode=2388024,
            )
        deleted_at = self._deleted.get(key)
        if deleted_at is not None and now - deleted_at < DELETED_NAME_HOLD:
            raise wire.user_error(
                "Message template language is being deleted",
                f"New {submission.language} content can't be added while the existing "
                f"{submission.language} content is being deleted. Try again in 4 weeks or "
                "consider creating a new message template.",
                subcode=2388023,
            )
        self._serial += 1
        template = Template(
            id=template_id,
            name=submission.name,
            language=submission.language,
            category=submission.category,
            parameter_format=submission.parameter_format,
            components=submission.components,
            serial=self._serial,
            quality_at=int(now),
        )
        self._templates[template_id] = template
        return template

    def edit(self, template: Template, body: Any, *, now: float) -> None:
        """Apply ``POST /{TEMPLATE_ID}``: new components and/or category, then review again.

        Meta's edit example also repeats ``name`` and ``language``; they are taken when
        they are the template's own, since neither can be changed.
        """
        if not isinstance(body, dict):
            raise wire.invalid_parameter(
                "Invalid parameter", "The request body must be a JSON object of changes."
            )
        for field in body:
            if field not in ("components", "category", "name", "language"):
                raise wire.invalid_parameter(
                    f"Param {field} is not a valid parameter.",
                    "An edit changes a template's components or category.",
                )
        for field in ("name", "language"):
            if field in body and body[field] != getattr(template, field):
                raise wire.user_error(
                    f"Template {field} can't be edited",
                    f"A template's {field} can't be changed; create a new template instead.",
                )
        if "components" not in body and "category" not in body:
            raise wire.required("", "components")
        if template.status in ("PENDING", "DISABLED"):
            raise wire.user_error(
                "Template can't be edited",
                f"A {template.status} template can't be edited.",
            )
        category = (
            template_content.enum_field(body, "category", template_content.CATEGORIES)
            or template.category
        )
        if template.status == "APPROVED":
            if category != template.category:
                raise wire.user_error(
                    "Category can't be edited",
                    "The category of an approved template can't be changed.",
                )
            if template.approved_edit_at is not None and (
                now - template.approved_edit_at < EDIT_INTERVAL
            ):
                raise wire.user_error(
                    "Edit limit reached",
                    "An approved template can be edited once in 24 hours.",
                )
        components = template_content.parse_components(
            body.get("components", template.components), category, template.parameter_format
        )
        if template.status == "APPROVED":
            template.approved_edit_at = now
        template.components = components
        template.category = category
        template.status = "PENDING"
        template.reason = "NONE"
        template.revision += 1

    def delete(self, name: str, hsm_id: str | None, *, now: float) -> None:
        """Apply ``DELETE /{WABA-ID}/message_templates?name=...[&hsm_id=...]``: every
        language of ``name``, or only the template ``hsm_id`` (which must bear that name)."""
        doomed = [
            t
            for t in self._templates.values()
            if t.name == name and (hsm_id is None or t.id == hsm_id)
        ]
        if not doomed:
            raise wire.user_error(
                "Message template not found",
                f"No message template named {name}"
                + (f" has the id {hsm_id}." if hsm_id else " was found."),
            )
        for template in doomed:
            del self._templates[template.id]
            self._deleted[(template.name, template.language)] = now

    def page(
        self, query: dict[str, str], page_url: Callable[[dict[str, str]], str]
    ) -> dict[str, Any]:
        """``GET /{WABA-ID}/message_templates``: filters ``name``, ``status``, ``language``,
        ``category`` (the last three take comma-separated values), ``fields``, and cursor
        paging (``limit``, ``after``, ``before``) answered like ``templates_list_response.json``.
        ``page_url`` makes the ``next``/``previous`` links from query parameters."""
        fields = parse_fields(query.get("fields"))
        limit_text = query.get("limit", str(LIST_LIMIT))
        if not wire.is_digits(limit_text) or int(limit_text) == 0:
            raise wire.invalid_parameter(
                "Param limit must be a positive integer.", "limit is the number per page."
            )
        limit = int(limit_text)
        matching = self.all()
        if query.get("name"):
            matching = [t for t in matching if t.name == query["name"]]
        for field in ("status", "language", "category"):
            if query.get(field):
                wanted = {v.strip() for v in query[field].split(",")}
                if field != "language":
                    wanted = {v.upper() for v in wanted}
                matching = [t for t in matching if getattr(t, field) in wanted]
        if "after" in query:
            after = _cursor_serial(query["after"])
            page = [t for t in matching if t.serial > after][:limit]
        elif "before" in query:
            before = _cursor_serial(query["before"])
            page = [t for t in matching if t.serial < before][-limit:]
        else:
            page = matching[:limit]
        answer: dict[str, Any] = {"data": [t.view(fields) for t in page]}
        if not page:
            return answer
        first, last = _cursor(page[0].serial), _cursor(page[-1].serial)
        paging: dict[str, Any] = {"cursors": {"before": first, "after": last}}
        filters = {k: v for k, v in query.items() if k not in ("after", "before")}
        if any(t.serial > page[-1].serial for t in matching):
            paging["next"] = page_url({**filters, "limit": str(limit), "after": last})
        if any(t.serial < page[0].serial for t in matching):
            paging["previous"] = page_url({**filters, "limit": str(limit), "before": first})
        answer["paging"] = paging
        return answer


def _cursor(serial: int) -> str:
    return base64.urlsafe_b64encode(f"template:{serial}".encode()).decode().rstrip("=")


def _cursor_serial(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, serial = text.partition(":")
        if prefix != "template" or not wire.is_digits(serial):
            raise ValueError
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise wire.invalid_parameter(
            "Invalid cursor", "The paging cursor is not one this list answered."
        ) from exc
    return int(serial)
