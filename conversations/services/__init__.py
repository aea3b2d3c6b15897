"""Every write to contacts, conversations and messages, and to the workspace
around them: assignment and routing, statuses, labels, notes, notifications,
timers and operators' presence. One module per domain; this module only
re-exports their public API.

Functions take keyword arguments, own their transaction, and publish what
changed through ``conversations.realtime`` (sent after commit). Every change to
a conversation's workflow is recorded as a ``ConversationEvent`` (actor None:
the system) and published as ``conversation.event``.

Lock order, to stay free of deadlocks: a conversation row, then team rows in id
order; queue draining takes a team row and then only skips locked conversations.

Imports: code outside this package writes ``from conversations import services``
and calls ``services.<name>``; every service, refusal, result and constant it may
use is re-exported here (``__all__``). Inside the package a module imports what it
needs from its siblings (``from conversations.services.routing import
drain_teams_of``), never from the package itself and never a sibling's underscore
names: helpers several modules share live in ``common`` under public names, the
refusals in ``errors``. Services enqueue jobs through ``conversations.enqueue``
and never import ``conversations.jobs``: jobs call services, not the other way
round.
"""

from conversations.services.assignment import UNSET, conversation_assign, conversation_claim
from conversations.services.auto_replies import (
    COUNTRY_LANGUAGES,
    auto_reply_render,
    auto_reply_send_if_due,
    contact_language,
)
from conversations.services.common import User, graph_client, message_preview, publish_message
from conversations.services.consent import (
    category_for,
    compliance_log_record,
    compliance_policy_update,
    consent_category_create,
    consent_opt_out_marketing,
    consent_record,
    contact_create,
    contacts_create,
    platform_marketing_set,
    publish_consent,
    user_preferences_apply,
    wa_id_normalize,
)
from conversations.services.consent_import import consent_import_create, consent_import_run
from conversations.services.consent_messages import (
    STOP_WORDS,
    consent_apply_inbound,
    may_be_consent_message,
    opt_in_texts,
)
from conversations.services.deferrals import (
    MARKETING_LIMIT_CODE,
    MARKETING_STOPPED_CODE,
    PLATFORM_MARKETING_LIMIT,
    platform_refusal_apply,
    sends_deferred_due,
)
from conversations.services.delivery import (
    MAX_SEND_ATTEMPTS,
    DeliveryAttempt,
    message_deliver,
    sends_interrupted_resolve,
    sends_lost_requeue,
)
from conversations.services.errors import (
    AlreadyAssigned,
    DuplicateNumber,
    InvalidAssignee,
    InvalidConsent,
    InvalidLabel,
    InvalidMedia,
    InvalidProfile,
    InvalidReaction,
    InvalidReplyTo,
    InvalidSnooze,
    InvalidTeam,
    InvalidWebhookBody,
    MediaNotRetryable,
    NotAllowed,
    NotRetryable,
    ProfileUnavailable,
    SendRefused,
    ServiceError,
    UnknownCategory,
    WindowClosed,
)
from conversations.services.escalation import conversations_escalate_due
from conversations.services.inbound import (
    ANSWER_RESOLUTION,
    WAKE_REASONS,
    contact_upsert,
    conversation_for_contact,
    conversations_for_contacts,
    message_from_event,
    message_receive_inbound,
    webhook_receive,
)
from conversations.services.media import (
    MEDIA_MAX_ATTEMPTS,
    MEDIA_RETRY_DELAYS,
    MediaAttempt,
    media_client,
    media_download,
    media_download_retry,
)
from conversations.services.notes import MENTION, conversation_set_labels, note_create
from conversations.services.notifications import notification_mark_read
from conversations.services.numbers import number_register
from conversations.services.outbound import (
    CAPTION_MAX,
    WINDOW_CLOSED_TEXT,
    TemplateMessage,
    message_react,
    message_retry,
    message_send_media,
    message_send_template,
    message_send_template_batch,
    message_send_text,
)
from conversations.services.presence import (
    agent_connected,
    agent_connections_prune,
    agent_disconnected,
    agent_presence,
    agent_profile,
    agent_profile_update,
    agent_seen,
    agent_set_presence,
)
from conversations.services.profiles import (
    PROFILE_PUSH_ATTEMPTS,
    ProfilePush,
    business_profile_fetch,
    business_profile_push,
    business_profile_update,
)
from conversations.services.read_receipts import (
    READ_RECEIPT_MEMORY,
    TYPING_EVERY_SECONDS,
    conversation_mark_read,
    conversation_typing,
    read_receipt_send,
)
from conversations.services.routing import (
    DEFAULT_CAPACITY,
    team_is_open,
    team_queue_drain,
    team_queues_drain,
)
from conversations.services.send_rules import (
    REFUSAL_CODES,
    Refusal,
    compliance_policy,
    contact_country,
    contact_time_zone,
    send_verdict,
    send_verdicts,
)
from conversations.services.status_reports import message_status_apply
from conversations.services.statuses import conversation_set_status, snoozed_wake_due
from conversations.services.timers import TimerRun, timers_run

__all__ = [
    "ANSWER_RESOLUTION",
    "CAPTION_MAX",
    "COUNTRY_LANGUAGES",
    "DEFAULT_CAPACITY",
    "MARKETING_LIMIT_CODE",
    "MARKETING_STOPPED_CODE",
    "MAX_SEND_ATTEMPTS",
    "MEDIA_MAX_ATTEMPTS",
    "MEDIA_RETRY_DELAYS",
    "MENTION",
    "PLATFORM_MARKETING_LIMIT",
    "PROFILE_PUSH_ATTEMPTS",
    "READ_RECEIPT_MEMORY",
    "REFUSAL_CODES",
    "STOP_WORDS",
    "TYPING_EVERY_SECONDS",
    "UNSET",
    "WAKE_REASONS",
    "WINDOW_CLOSED_TEXT",
    "AlreadyAssigned",
    "DeliveryAttempt",
    "DuplicateNumber",
    "InvalidAssignee",
    "InvalidConsent",
    "InvalidLabel",
    "InvalidMedia",
    "InvalidProfile",
    "InvalidReaction",
    "InvalidReplyTo",
    "InvalidSnooze",
    "InvalidTeam",
    "InvalidWebhookBody",
    "MediaAttempt",
    "MediaNotRetryable",
    "NotAllowed",
    "NotRetryable",
    "ProfilePush",
    "ProfileUnavailable",
    "Refusal",
    "SendRefused",
    "ServiceError",
    "TemplateMessage",
    "TimerRun",
    "UnknownCategory",
    "User",
    "WindowClosed",
    "agent_connected",
    "agent_connections_prune",
    "agent_disconnected",
    "agent_presence",
    "agent_profile",
    "agent_profile_update",
    "agent_seen",
    "agent_set_presence",
    "auto_reply_render",
    "auto_reply_send_if_due",
    "business_profile_fetch",
    "business_profile_push",
    "business_profile_update",
    "category_for",
    "compliance_log_record",
    "compliance_policy",
    "compliance_policy_update",
    "consent_apply_inbound",
    "consent_category_create",
    "consent_import_create",
    "consent_import_run",
    "consent_opt_out_marketing",
    "consent_record",
    "contact_country",
    "contact_create",
    "contact_language",
    "contact_time_zone",
    "contact_upsert",
    "contacts_create",
    "conversation_assign",
    "conversation_claim",
    "conversation_for_contact",
    "conversation_mark_read",
    "conversation_set_labels",
    "conversation_set_status",
    "conversation_typing",
    "conversations_escalate_due",
    "conversations_for_contacts",
    "graph_client",
    "may_be_consent_message",
    "media_client",
    "media_download",
    "media_download_retry",
    "message_deliver",
    "message_from_event",
    "message_preview",
    "message_react",
    "message_receive_inbound",
    "message_retry",
    "message_send_media",
    "message_send_template",
    "message_send_template_batch",
    "message_send_text",
    "message_status_apply",
    "note_create",
    "notification_mark_read",
    "number_register",
    "opt_in_texts",
    "platform_marketing_set",
    "platform_refusal_apply",
    "publish_consent",
    "publish_message",
    "read_receipt_send",
    "send_verdict",
    "send_verdicts",
    "sends_deferred_due",
    "sends_interrupted_resolve",
    "sends_lost_requeue",
    "snoozed_wake_due",
    "team_is_open",
    "team_queue_drain",
    "team_queues_drain",
    "timers_run",
    "user_preferences_apply",
    "wa_id_normalize",
    "webhook_receive",
]
