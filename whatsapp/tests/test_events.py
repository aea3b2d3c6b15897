import datetime as dt
import json

import pytest

from conftest import FIXTURES_DIR
from whatsapp.events import (
    AccountEvent,
    InboundMessage,
    PayloadError,
    StatusUpdate,
    TemplateUpdate,
    parse_webhook,
)

WEBHOOK_FIXTURES = sorted(p.name for p in FIXTURES_DIR.glob("webhook_*.json"))


def load(name: str) -> dict:
    return json.loads((FIXTURES_DIR / name).read_bytes())


def test_the_fixture_folder_is_there() -> None:
    assert len(WEBHOOK_FIXTURES) >= 30


@pytest.mark.parametrize("name", WEBHOOK_FIXTURES)
def test_every_fixture_parses_into_events(name: str) -> None:
    events = parse_webhook(load(name))
    assert events, name


@pytest.mark.parametrize(
    ("name", "msg_type", "text"),
    [
        ("webhook_text_message.json", "text", "Does it come in another color?"),
        ("webhook_image_message.json", "image", "Taj Mahal"),
        ("webhook_video_message.json", "video", "Timelapse of growth"),
        ("webhook_audio_message.json", "audio", ""),
        ("webhook_document_message.json", "document", "my receipt"),
        ("webhook_sticker_message.json", "sticker", ""),
        (
            "webhook_location_message.json",
            "location",
            "Philz Coffee, 101 Forest Ave, Palo Alto, CA 94301",
        ),
        ("webhook_contacts_message.json", "contacts", "Barbara J. Johnson"),
        ("webhook_interactive_button_reply.json", "interactive", "Change"),
        ("webhook_interactive_list_reply.json", "interactive", "Priority Mail Express"),
        ("webhook_button_template_quick_reply.json", "button", "Unsubscribe"),
        ("webhook_reaction_message.json", "reaction", "\U0001f62e"),
        ("webhook_order_message.json", "order", "Love these!"),
        (
            "webhook_system_user_changed_number.json",
            "system",
            "User Sheena Nelson changed from 16505551234 to 12195555358",
        ),
        ("webhook_unsupported_message_131051.json", "unsupported", ""),
    ],
)
def test_message_types_become_typed_messages(name: str, msg_type: str, text: str) -> None:
    (event,) = parse_webhook(load(name))
    assert isinstance(event, InboundMessage)
    assert event.type == msg_type
    assert event.text == text


def test_text_message_fields() -> None:
    (event,) = parse_webhook(load("webhook_text_message.json"))
    assert event.phone_number_id == "106540352242922"
    assert event.sender.wa_id == "16505551234"
    assert event.sender.profile_name == "Sheena Nelson"
    assert event.timestamp == dt.datetime(2025, 6, 8, 20, 59, 43, tzinfo=dt.UTC)
    assert event.context is None


def test_voice_note_media_and_reaction_targets() -> None:
    (audio,) = parse_webhook(load("webhook_audio_message.json"))
    assert audio.media_id == "1908647269898587"
    assert audio.content["voice"] is True
    (reaction,) = parse_webhook(load("webhook_reaction_message.json"))
    assert reaction.reacted_wamid == "wamid.yzxyzx="
    assert reaction.sender.user_id == "US.13491208655302741918"


def test_replies_and_ads_keep_context_and_referral() -> None:
    (reply,) = parse_webhook(load("webhook_text_reply_with_context.json"))
    assert reply.context == {"from": "972123456789", "id": "wamid.xyzxyz=="}
    (ad,) = parse_webhook(load("webhook_text_ctwa_ad_referral.json"))
    assert ad.referral["source_type"] == "ad"
    assert ad.referral["ctwa_clid"].startswith("Aff-")


def test_unsupported_message_carries_the_platform_error() -> None:
    (event,) = parse_webhook(load("webhook_unsupported_message_131051.json"))
    assert event.errors[0].code == 131051
    assert event.errors[0].details == "Message type is currently not supported."


def test_unknown_message_type_is_unsupported_not_an_exception() -> None:
    payload = load("webhook_text_message.json")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["type"] = "hologram"
    message["hologram"] = {"depth": 3}
    (event,) = parse_webhook(payload)
    assert event.type == "unsupported"
    assert event.content == {"type": "hologram", "depth": 3}


def test_failed_status_keeps_code_title_and_details() -> None:
    (event,) = parse_webhook(load("webhook_status_failed_131047.json"))
    assert isinstance(event, StatusUpdate)
    assert event.status == "failed"
    assert event.errors[0].code == 131047
    assert event.errors[0].title == "Re-engagement message"
    assert event.errors[0].details.startswith("Message failed to send because more than 24 hours")


def test_status_carries_callback_data_conversation_and_pricing() -> None:
    (event,) = parse_webhook(load("webhook_status_sent_biz_opaque_callback_data.json"))
    assert event.biz_opaque_callback_data == "some data"
    assert event.conversation["expiration_timestamp"] == "1698339900"
    assert event.pricing["pricing_model"] == "CBP"


def test_template_status_and_quality_updates() -> None:
    (approved,) = parse_webhook(load("webhook_template_status_approved.json"))
    assert isinstance(approved, TemplateUpdate)
    assert (approved.name, approved.language, approved.event) == (
        "order_confirmation",
        "en-US",
        "APPROVED",
    )
    (rejected,) = parse_webhook(load("webhook_template_status_rejected_invalid_format.json"))
    assert rejected.event == "REJECTED"
    assert rejected.reason.startswith("INVALID_FORMAT: Your template has parameters placed next")
    (quality,) = parse_webhook(load("webhook_template_quality_update_pywa.json"))
    assert quality.event == "YELLOW"


def with_value(name: str, **changes: object) -> dict:
    """A fixture whose change value has ``changes`` (a None value removes the key)."""
    payload = load(name)
    value = payload["entry"][0]["changes"][0]["value"]
    for key, change in changes.items():
        if change is None:
            value.pop(key, None)
        else:
            value[key] = change
    return payload


def test_an_approval_carries_its_category_and_no_rejection() -> None:
    (approved,) = parse_webhook(load("webhook_template_status_approved.json"))

    assert approved.field == "message_template_status_update"
    assert (approved.template_id, approved.waba_id) == ("1689556908129832", "102290129340398")
    assert (approved.category, approved.reason_code, approved.reason) == ("UTILITY", "NONE", "NONE")
    assert (approved.language, approved.language_code) == ("en-US", "en_US")
    assert (approved.rejection_reason, approved.rejection_recommendation) == ("", "")
    assert (approved.other_info_title, approved.disable_date) == ("", None)


def test_a_rejection_keeps_the_reason_and_the_platforms_explanation_apart() -> None:
    (rejected,) = parse_webhook(load("webhook_template_status_rejected_invalid_format.json"))

    assert (rejected.event, rejected.reason_code, rejected.category) == (
        "REJECTED",
        "INVALID_FORMAT",
        "MARKETING",
    )
    assert rejected.rejection_reason == (
        "Your template has parameters placed next to each other (like {{1}}{{2}}) without "
        "text or punctuation between them."
    )
    assert rejected.rejection_recommendation == (
        "Separate parameters with descriptive text and ensure each parameter is clearly "
        "contextualized."
    )
    assert rejected.reason == f"INVALID_FORMAT: {rejected.rejection_reason}"
    assert rejected.language_code == "en"


def test_a_rejection_for_promotion_without_explanation_is_its_reason() -> None:
    (rejected,) = parse_webhook(
        with_value(
            "webhook_template_status_rejected_invalid_format.json",
            reason="PROMOTIONAL",
            rejection_info=None,
        )
    )

    assert (rejected.reason, rejected.reason_code, rejected.rejection_reason) == (
        "PROMOTIONAL",
        "PROMOTIONAL",
        "",
    )


def test_a_pause_says_which_pause_and_why() -> None:
    (paused,) = parse_webhook(
        with_value(
            "webhook_template_status_approved.json",
            event="PAUSED",
            other_info={
                "title": "FIRST_PAUSE",
                "description": "Your WhatsApp message template has been paused for 3 hours "
                "because of low quality.",
            },
        )
    )

    assert (paused.event, paused.reason_code) == ("PAUSED", "NONE")
    assert paused.other_info_title == "FIRST_PAUSE"
    assert paused.other_info_description.startswith("Your WhatsApp message template has been")


@pytest.mark.parametrize("disable_date", [1751234563, "1751234563"])
def test_a_disabled_template_carries_the_day_it_was_disabled(disable_date: object) -> None:
    (disabled,) = parse_webhook(
        with_value(
            "webhook_template_status_approved.json",
            event="DISABLED",
            disable_info={"disable_date": disable_date},
        )
    )

    assert disabled.event == "DISABLED"
    assert disabled.disable_date == dt.datetime(2025, 6, 29, 22, 2, 43, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "event", ["FLAGGED", "REINSTATED", "PENDING", "IN_APPEAL", "LIMIT_EXCEEDED", "ARCHIVED"]
)
def test_every_status_event_is_passed_on_as_the_platform_names_it(event: str) -> None:
    (update,) = parse_webhook(with_value("webhook_template_status_approved.json", event=event))

    assert update.event == event


def test_a_deletion_comes_with_a_null_reason() -> None:
    (deleted,) = parse_webhook(
        with_value(
            "webhook_template_status_approved.json",
            event="PENDING_DELETION",
            reason=None,
            disable_info={"disable_date": "not a date"},
        )
    )

    assert (deleted.event, deleted.reason, deleted.reason_code) == ("PENDING_DELETION", "", "")
    assert deleted.disable_date is None  # extra information never fails a delivery


def test_a_quality_update_carries_the_previous_and_new_score() -> None:
    (quality,) = parse_webhook(load("webhook_template_quality_update_pywa.json"))

    assert quality.field == "message_template_quality_update"
    assert (quality.previous_quality_score, quality.new_quality_score) == ("GREEN", "YELLOW")
    assert (quality.event, quality.reason, quality.template_id) == ("YELLOW", "", "806312974732579")
    assert quality.language_code == "en_US"


def test_an_impending_category_change_names_the_category_to_come() -> None:
    (impending,) = parse_webhook(load("webhook_template_category_update_impending.json"))

    assert impending.field == "template_category_update"
    assert impending.impending is True
    # The platform's new_category is the category the template has until then.
    assert (impending.new_category, impending.correct_category) == ("UTILITY", "MARKETING")
    assert impending.event == "MARKETING"
    assert impending.category_update_at == dt.datetime(2025, 5, 2, 7, 0, tzinfo=dt.UTC)
    assert impending.previous_category == ""


def test_a_done_category_change_names_the_new_category() -> None:
    (done,) = parse_webhook(
        with_value(
            "webhook_template_category_update_impending.json",
            correct_category=None,
            category_update_timestamp=None,
            previous_category="UTILITY",
            new_category="MARKETING",
        )
    )

    assert done.impending is False
    assert (done.previous_category, done.new_category, done.event) == (
        "UTILITY",
        "MARKETING",
        "MARKETING",
    )
    assert done.category_update_at is None


def test_account_level_changes_are_kept_as_account_events() -> None:
    (event,) = parse_webhook(load("webhook_value_errors_130429.json"))
    assert isinstance(event, AccountEvent)
    assert event.errors[0].code == 130429
    (prefs,) = parse_webhook(load("webhook_user_preferences_resume_marketing.json"))
    assert prefs.field == "user_preferences"


def test_several_entries_and_changes_are_all_returned_in_order() -> None:
    first = load("webhook_text_message.json")
    second = load("webhook_status_delivered_cbp_service.json")
    first["entry"][0]["changes"].append(second["entry"][0]["changes"][0])
    first["entry"].append(load("webhook_template_status_approved.json")["entry"][0])
    kinds = [type(e).__name__ for e in parse_webhook(first)]
    assert kinds == ["InboundMessage", "StatusUpdate", "TemplateUpdate"]


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"object": "page", "entry": []},
        {"object": "whatsapp_business_account"},
        {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages"}]}]},
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": {"messages": []}}]}],
        },
    ],
)
def test_bodies_that_are_not_deliveries_raise_payload_error(payload: object) -> None:
    with pytest.raises(PayloadError):
        parse_webhook(payload)


def test_message_without_id_or_with_bad_timestamp_is_a_payload_error() -> None:
    payload = load("webhook_text_message.json")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["timestamp"] = "yesterday"
    with pytest.raises(PayloadError, match="timestamp"):
        parse_webhook(payload)
    del message["id"]
    with pytest.raises(PayloadError, match="no id"):
        parse_webhook(payload)


@pytest.mark.parametrize("value", [[], {}, 3, None, "lost"])
def test_a_status_that_is_not_one_whatsapp_sends_is_a_payload_error(value: object) -> None:
    payload = load("webhook_status_delivered_cbp_service.json")
    payload["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] = value
    with pytest.raises(PayloadError, match="not one WhatsApp sends"):
        parse_webhook(payload)


@pytest.mark.parametrize("cards", ["Ann", 7, [{"name": "Ann"}], [{"name": None}], ["Ann"]])
def test_shared_contacts_in_an_unexpected_shape_are_kept_without_a_summary(cards) -> None:
    payload = load("webhook_contacts_message.json")
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["contacts"] = cards
    (event,) = parse_webhook(payload)
    assert (event.type, event.text) == ("contacts", "")


def test_user_preferences_are_parsed_per_customer() -> None:
    (event,) = parse_webhook(load("webhook_user_preferences_resume_marketing.json"))
    assert isinstance(event, AccountEvent)
    (preference,) = event.preferences
    assert preference.wa_id == "16505551234"
    assert (preference.category, preference.value) == ("marketing_messages", "resume")
    assert preference.marketing
    assert preference.detail == "User requested to resume marketing messages"
    assert preference.timestamp == dt.datetime(2024, 11, 15, 21, 22, 1, tzinfo=dt.UTC)


def test_user_preferences_under_the_messages_field_are_parsed_too() -> None:
    payload = load("webhook_user_preferences_resume_marketing.json")
    change = payload["entry"][0]["changes"][0]
    change["field"] = "messages"
    change["value"]["user_preferences"][0]["value"] = "stop"
    (event,) = parse_webhook(payload)
    assert isinstance(event, AccountEvent)
    assert event.field == "user_preferences"
    assert event.preferences[0].value == "stop"
