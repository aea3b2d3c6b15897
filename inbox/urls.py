from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from analytics import views as analytics_views
from analytics.urls import api_v1 as analytics_api_v1
from campaigns import views as campaigns_views
from campaigns.urls import api_v1 as campaigns_api_v1
from conversations import api
from conversations.webhook import whatsapp_webhook
from inbox import api as inbox_api
from inbox import views
from templates_app import api as templates_api

api_v1 = [
    path("conversations/", api.ConversationList.as_view(), name="conversation-list"),
    path("conversations/<int:pk>/", api.ConversationDetail.as_view(), name="conversation-detail"),
    path(
        "conversations/<int:pk>/messages/",
        inbox_api.ConversationMessages.as_view(),
        name="conversation-messages",
    ),
    path(
        "conversations/<int:pk>/templates/",
        templates_api.ConversationTemplates.as_view(),
        name="conversation-templates",
    ),
    path("conversations/<int:pk>/read/", api.ConversationRead.as_view(), name="conversation-read"),
    path(
        "conversations/<int:pk>/typing/",
        api.ConversationTyping.as_view(),
        name="conversation-typing",
    ),
    path("messages/<uuid:pk>/reaction/", api.MessageReaction.as_view(), name="message-reaction"),
    path("messages/<uuid:pk>/retry/", api.MessageRetry.as_view(), name="message-retry"),
    path(
        "conversations/<int:pk>/claim/", api.ConversationClaim.as_view(), name="conversation-claim"
    ),
    path(
        "conversations/<int:pk>/assign/",
        api.ConversationAssign.as_view(),
        name="conversation-assign",
    ),
    path(
        "conversations/<int:pk>/status/",
        api.ConversationStatus.as_view(),
        name="conversation-status",
    ),
    path(
        "conversations/<int:pk>/labels/",
        api.ConversationLabels.as_view(),
        name="conversation-labels",
    ),
    path(
        "conversations/<int:pk>/notes/", api.ConversationNotes.as_view(), name="conversation-notes"
    ),
    path(
        "conversations/<int:pk>/events/",
        api.ConversationEvents.as_view(),
        name="conversation-events",
    ),
    path("canned-replies/", api.CannedReplyList.as_view(), name="canned-reply-list"),
    path("labels/", api.LabelList.as_view(), name="label-list"),
    path("teams/", api.TeamList.as_view(), name="team-list"),
    path("agents/", api.AgentList.as_view(), name="agent-list"),
    path("me/", api.Me.as_view(), name="me"),
    path("notifications/", api.NotificationList.as_view(), name="notification-list"),
    path(
        "notifications/<int:pk>/read/",
        api.NotificationRead.as_view(),
        name="notification-read",
    ),
    path("numbers/", api.NumberList.as_view(), name="number-list"),
    path("contacts/", api.ContactList.as_view(), name="contact-list"),
    path("contacts/<int:pk>/", api.ContactDetail.as_view(), name="contact-detail"),
    path("contacts/<int:pk>/consents/", api.ContactConsents.as_view(), name="contact-consents"),
    path(
        "consent-categories/",
        api.ConsentCategoryList.as_view(),
        name="consent-category-list",
    ),
    path("compliance-policy/", api.CompliancePolicyView.as_view(), name="compliance-policy"),
    path("compliance-log/", api.ComplianceLog.as_view(), name="compliance-log"),
    path("consent-imports/", api.ConsentImportList.as_view(), name="consent-import-list"),
    path(
        "consent-imports/<int:pk>/",
        api.ConsentImportDetail.as_view(),
        name="consent-import-detail",
    ),
    path("templates/", templates_api.TemplateList.as_view(), name="template-list"),
    path("templates/check/", templates_api.TemplateCheck.as_view(), name="template-check"),
    path("templates/<int:pk>/", templates_api.TemplateDetail.as_view(), name="template-detail"),
    path(
        "templates/<int:pk>/submit/",
        templates_api.TemplateSubmit.as_view(),
        name="template-submit",
    ),
    path("messages/<uuid:pk>/media/", api.MessageMedia.as_view(), name="message-media"),
    path(
        "messages/<uuid:pk>/media/retry/",
        api.MessageMediaRetry.as_view(),
        name="message-media-retry",
    ),
    path("numbers/<int:pk>/profile/", api.NumberProfile.as_view(), name="number-profile"),
    path(
        "numbers/<int:pk>/profile/photo/",
        api.NumberProfilePhoto.as_view(),
        name="number-profile-photo",
    ),
    path(
        "numbers/<int:pk>/profile/fetch/",
        api.NumberProfileFetch.as_view(),
        name="number-profile-fetch",
    ),
    *analytics_api_v1,
    *campaigns_api_v1,
]

urlpatterns = [
    path("", views.inbox_page, name="inbox"),
    path("templates/", views.templates_page, name="templates"),
    path("consent/", views.consent_page, name="consent"),
    path("campaigns/", campaigns_views.campaigns_page, name="campaigns"),
    path("dashboard/", analytics_views.dashboard_page, name="dashboard"),
    path("health/", views.health, name="health"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("webhooks/whatsapp/", whatsapp_webhook, name="whatsapp-webhook"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file of its own: no
    # inline script, as the Content-Security-Policy requires. Swagger UI styles
    # itself inline; its page shows no customer data.
    path(
        "api/docs/",
        csp_update({"style-src": [UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(url_name="api-schema")
        ),
        name="api-docs",
    ),
    path("api/v1/", include(api_v1)),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
]

# Unknown addresses under /api/ answer with the API's JSON error.
handler404 = views.not_found
