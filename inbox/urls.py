from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from conversations import api
from conversations.webhook import whatsapp_webhook
from inbox import views

api_v1 = [
    path("conversations/", api.ConversationList.as_view(), name="conversation-list"),
    path("conversations/<int:pk>/", api.ConversationDetail.as_view(), name="conversation-detail"),
    path(
        "conversations/<int:pk>/messages/",
        api.ConversationMessages.as_view(),
        name="conversation-messages",
    ),
    path("conversations/<int:pk>/read/", api.ConversationRead.as_view(), name="conversation-read"),
    path("numbers/", api.NumberList.as_view(), name="number-list"),
]

urlpatterns = [
    path("", views.inbox_page, name="inbox"),
    path("health/", views.health, name="health"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("webhooks/whatsapp/", whatsapp_webhook, name="whatsapp-webhook"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include(api_v1)),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
]
