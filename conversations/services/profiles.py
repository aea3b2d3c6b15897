"""A number's business profile (what customers see of it on WhatsApp): editing it
here, pushing it to WhatsApp from a job, and importing what WhatsApp shows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from conversations import selectors
from conversations.enqueue import enqueue_profile_push
from conversations.models import BusinessProfile, WhatsAppNumber
from conversations.services.common import graph_client
from conversations.services.errors import (
    InvalidProfile,
    NotAllowed,
    ProfileUnavailable,
    ServiceError,
)
from whatsapp import errors as wa_errors
from whatsapp import profiles as wa_profiles
from whatsapp.client import GraphAPIError, GraphClient, GraphUnreachable

PROFILE_PUSH_ATTEMPTS = 6


@dataclass(frozen=True)
class ProfilePush:
    profile: BusinessProfile | None
    retry_in: dt.timedelta | None = None


def business_profile_update(
    *, number: WhatsAppNumber, user: Any, push: bool = True, **fields: Any
) -> BusinessProfile:
    """Change what customers see of ``number`` on WhatsApp: any of ``about``,
    ``description``, ``address``, ``email``, ``websites``, ``vertical``, and
    ``profile_picture`` (a file: JPEG or PNG, at most 5 MB).

    Only admins (or ``user`` None: the system) may. The profile is saved as
    ``pending`` and, after commit, a job pushes it to WhatsApp (``push=False``
    leaves that to ``manage.py push_business_profiles``). With no fields the
    whole profile, photo included, is sent again. Raises ``InvalidProfile``
    with a sentence per field WhatsApp would refuse.
    """
    if user is not None and not _may_edit_profiles(user):
        raise NotAllowed("Only admins may change a number's business profile.")
    unknown = set(fields) - {*wa_profiles.FIELDS, "profile_picture"}
    if unknown:
        raise ServiceError(f"Unknown profile fields: {', '.join(sorted(unknown))}.")
    values = {name: _profile_value(name, value) for name, value in fields.items()}
    photo = values.pop("profile_picture", None)
    problems = wa_profiles.problems(values)
    if photo is not None:
        problem = _photo_problem(photo)
        if problem:
            problems["profile_picture"] = problem
    if problems:
        raise InvalidProfile(problems)
    with transaction.atomic():
        profile, _ = BusinessProfile.objects.select_for_update().get_or_create(number=number)
        for name, value in values.items():
            setattr(profile, name, value)
        if photo is not None:
            data, _ = photo
            replaced = profile.profile_picture.name
            extension = "png" if wa_profiles.photo_type(data) == "image/png" else "jpg"
            profile.profile_picture.save(
                f"number-{number.pk}.{extension}", ContentFile(data), save=False
            )
            if replaced:
                storage = profile.profile_picture.storage
                transaction.on_commit(lambda: storage.delete(replaced))
            # Unknown until WhatsApp has the new photo and says where it serves it.
            profile.profile_picture_url = ""
        if not fields and profile.profile_picture:
            profile.profile_picture_url = ""
        profile.sync_state = BusinessProfile.Sync.PENDING
        profile.sync_error = ""
        profile.updated_at = timezone.now()
        profile.save()
        if push:
            enqueue_profile_push(number.pk)
    return profile


def _may_edit_profiles(user: Any) -> bool:
    return "admin" in selectors.user_roles(user) or bool(
        getattr(user, "is_active", False) and user.has_perm("conversations.change_businessprofile")
    )


def _profile_value(name: str, value: Any) -> Any:
    if name == "profile_picture":
        if value is None:
            return None
        value.seek(0)
        return (value.read(wa_profiles.PHOTO_MAX_BYTES + 1), getattr(value, "name", "") or "photo")
    if name == "websites" and isinstance(value, list | tuple):
        if all(isinstance(site, str) for site in value):
            return [site.strip() for site in value if site.strip()]
        return value
    if isinstance(value, str):
        return value.strip()
    return value


def _photo_problem(photo: tuple[bytes, str]) -> str:
    data, _ = photo
    if len(data) > wa_profiles.PHOTO_MAX_BYTES:
        return f"The photo may be at most {wa_profiles.PHOTO_MAX_BYTES // 2**20} MB."
    if wa_profiles.photo_type(data) is None:
        return "The photo must be a JPEG or PNG image."
    return ""


def business_profile_push(
    *, number_id: int, attempt: int = 1, client: GraphClient | None = None
) -> ProfilePush:
    """Send a ``pending`` profile to WhatsApp: a new photo first through the
    Resumable Upload API, then the fields. Ends ``synced`` (with ``synced_at``),
    or ``failed`` with WhatsApp's reason; a passing fault or no answer leaves it
    ``pending`` and asks to be tried again after ``retry_in``.

    Running it twice does no harm: a profile not pending is left alone, and an
    edit made while the request was out keeps the profile pending for its own push.
    """
    with transaction.atomic():
        profile = (
            BusinessProfile.objects.select_for_update(of=("self",))
            .select_related("number")
            .filter(number_id=number_id)
            .first()
        )
        if profile is None or profile.sync_state != BusinessProfile.Sync.PENDING:
            return ProfilePush(profile=profile)
    edited_at = profile.updated_at
    phone_number_id = profile.number.phone_number_id
    values: dict[str, Any] = {
        "about": profile.about,
        "address": profile.address,
        "description": profile.description,
        "email": profile.email,
        "websites": list(profile.websites or []),
        "vertical": profile.vertical,
    }
    # An empty value clears the field on WhatsApp, but only once WhatsApp and the
    # inbox agreed (synced or imported): before that it means "not set here", and
    # WhatsApp keeps what it has. An empty About cannot be sent at all.
    clears = profile.synced_at is not None
    body = {
        name: value
        for name, value in values.items()
        if value not in ("", [], BusinessProfile.Vertical.UNDEFINED) or (clears and name != "about")
    }
    client = client or graph_client()
    picture_url = profile.profile_picture_url
    try:
        if profile.profile_picture and not profile.profile_picture_url:
            with profile.profile_picture.open("rb") as photo:
                data = photo.read()
            body["profile_picture_handle"] = client.upload_file(
                data,
                wa_profiles.photo_type(data) or "image/jpeg",
                file_name=profile.profile_picture.name.rsplit("/", 1)[-1],
            )
        client.update_business_profile(phone_number_id, body)
        if "profile_picture_handle" in body:
            picture_url = str(
                client.get_business_profile(phone_number_id).get("profile_picture_url") or ""
            )
    except GraphAPIError as exc:
        reason = _profile_reason(exc.code, exc.title, exc.details)
        if exc.retryable and attempt < PROFILE_PUSH_ATTEMPTS:
            return _profile_retry(profile, attempt, reason)
        return ProfilePush(profile=_profile_failed(profile, edited_at, reason))
    except GraphUnreachable as exc:
        reason = f"WhatsApp could not be reached: {exc}"
        if attempt < PROFILE_PUSH_ATTEMPTS:
            return _profile_retry(profile, attempt, reason)
        return ProfilePush(profile=_profile_failed(profile, edited_at, reason))
    with transaction.atomic():
        profile = BusinessProfile.objects.select_for_update().get(pk=profile.pk)
        if profile.updated_at == edited_at:
            profile.sync_state = BusinessProfile.Sync.SYNCED
            profile.sync_error = ""
            profile.synced_at = timezone.now()
            profile.profile_picture_url = picture_url
            profile.save(
                update_fields=["sync_state", "sync_error", "synced_at", "profile_picture_url"]
            )
    return ProfilePush(profile=profile)


def _profile_reason(code: int | None, title: str, details: str) -> str:
    said = title + (f" ({details})" if details and details != title else "")
    known = wa_errors.meaning(code, "")
    return f"{known} WhatsApp said: {said}" if known else said


def _profile_retry(profile: BusinessProfile, attempt: int, reason: str) -> ProfilePush:
    delay = dt.timedelta(seconds=min(5 * 2**attempt, 600))
    BusinessProfile.objects.filter(pk=profile.pk, sync_state=BusinessProfile.Sync.PENDING).update(
        sync_error=f"{reason} Trying again in {int(delay.total_seconds())} s."
    )
    profile.refresh_from_db()
    return ProfilePush(profile=profile, retry_in=delay)


def _profile_failed(
    profile: BusinessProfile, edited_at: dt.datetime, reason: str
) -> BusinessProfile:
    with transaction.atomic():
        profile = BusinessProfile.objects.select_for_update().get(pk=profile.pk)
        if profile.updated_at == edited_at:
            profile.sync_state = BusinessProfile.Sync.FAILED
            profile.sync_error = reason
            profile.save(update_fields=["sync_state", "sync_error"])
    return profile


def business_profile_fetch(
    *, number: WhatsAppNumber, client: GraphClient | None = None
) -> BusinessProfile:
    """Import what WhatsApp shows of ``number`` into its profile, replacing the
    values kept here (the photo becomes the one WhatsApp serves): ``synced``.

    Raises ``ProfileUnavailable`` with the reason when WhatsApp does not answer
    with a profile.
    """
    try:
        remote = (client or graph_client()).get_business_profile(number.phone_number_id)
    except GraphAPIError as exc:
        raise ProfileUnavailable(_profile_reason(exc.code, exc.title, exc.details)) from exc
    except GraphUnreachable as exc:
        raise ProfileUnavailable(f"WhatsApp could not be reached: {exc}") from exc
    values: dict[str, Any] = {}
    for name in ("about", "address", "description", "email"):
        limit = BusinessProfile._meta.get_field(name).max_length
        values[name] = str(remote.get(name) or "")[:limit]
    websites = remote.get("websites")
    values["websites"] = [
        site for site in (websites if isinstance(websites, list) else []) if isinstance(site, str)
    ][: wa_profiles.WEBSITES_MAX]
    vertical = remote.get("vertical")
    values["vertical"] = (
        vertical
        if vertical in BusinessProfile.Vertical.values
        else BusinessProfile.Vertical.UNDEFINED
    )
    picture_url = str(remote.get("profile_picture_url") or "")
    now = timezone.now()
    with transaction.atomic():
        profile, _ = BusinessProfile.objects.select_for_update().get_or_create(number=number)
        for name, value in values.items():
            setattr(profile, name, value)
        profile.profile_picture = ""
        profile.profile_picture_url = picture_url[
            : BusinessProfile._meta.get_field("profile_picture_url").max_length
        ]
        profile.sync_state = BusinessProfile.Sync.SYNCED
        profile.sync_error = ""
        profile.synced_at = now
        profile.updated_at = now
        profile.save()
    return profile
