"""The campaigns' API routes, included under /api/v1/ by ``inbox/urls.py``."""

from django.urls import path

from campaigns import api

api_v1 = [
    path("campaigns/", api.CampaignList.as_view(), name="campaign-list"),
    path("campaigns/<int:pk>/", api.CampaignDetail.as_view(), name="campaign-detail"),
    path("campaigns/<int:pk>/preview/", api.CampaignPreview.as_view(), name="campaign-preview"),
    path(
        "campaigns/<int:pk>/recipients/",
        api.CampaignRecipients.as_view(),
        name="campaign-recipients",
    ),
    path("campaigns/<int:pk>/start/", api.CampaignStart.as_view(), name="campaign-start"),
    path("campaigns/<int:pk>/pause/", api.CampaignPause.as_view(), name="campaign-pause"),
    path("campaigns/<int:pk>/resume/", api.CampaignResume.as_view(), name="campaign-resume"),
    path("campaigns/<int:pk>/cancel/", api.CampaignCancel.as_view(), name="campaign-cancel"),
    path("number-health/", api.NumberHealth.as_view(), name="number-health"),
]
