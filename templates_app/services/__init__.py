"""Every write to templates. Outside this package, code uses
``from templates_app import services`` and ``services.<name>``; the modules:

* ``authoring``: drafts, edits, teams, deletion, submission (the checks first);
* ``review``: the submission and deletion jobs' work, the webhooks, reconciliation;
* ``sending``: a template sent in a conversation, through the core's send service;
* ``common``: recording a change and telling the pages; ``errors``: the refusals.

As in the core: each write owns its transaction, locks the template's row first,
and publishes what changed (``template.updated``) after commit.
"""

from templates_app.services.authoring import (
    template_create,
    template_delete,
    template_findings,
    template_submit,
    template_update,
)
from templates_app.services.errors import (
    DuplicateTemplate,
    EditLimitReached,
    InvalidParameters,
    InvalidTemplate,
    TemplateBusy,
    TemplateChecksFailed,
    TemplateNotAllowed,
    TemplateNotApproved,
)
from templates_app.services.review import (
    template_platform_delete,
    template_submission_run,
    template_update_apply,
    templates_submissions_resume,
    templates_sync,
    templates_sync_due,
)
from templates_app.services.sending import (
    template_refusal,
    template_send,
    templates_for_conversation,
)

__all__ = [
    "DuplicateTemplate",
    "EditLimitReached",
    "InvalidParameters",
    "InvalidTemplate",
    "TemplateBusy",
    "TemplateChecksFailed",
    "TemplateNotAllowed",
    "TemplateNotApproved",
    "template_create",
    "template_delete",
    "template_findings",
    "template_platform_delete",
    "template_refusal",
    "template_send",
    "template_submission_run",
    "template_submit",
    "template_update",
    "template_update_apply",
    "templates_for_conversation",
    "templates_submissions_resume",
    "templates_sync",
    "templates_sync_due",
]
