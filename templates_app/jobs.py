"""Background jobs of templates: each takes an id, loads its row and calls one
service; running one twice does no harm (see ``services.review``)."""

from __future__ import annotations

from templates_app import services


def submit_template(template_id: int) -> None:
    services.template_submission_run(template_id=template_id)


def delete_template(template_id: int) -> None:
    services.template_platform_delete(template_id=template_id)


def sync_templates(waba_id: str) -> None:
    services.templates_sync(waba_id=waba_id)
