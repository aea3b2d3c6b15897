"""The statistics endpoints, composed into ``/api/v1/`` by ``inbox.urls``."""

from django.urls import path

from analytics import api

api_v1 = [
    path("stats/summary/", api.StatsSummary.as_view(), name="stats-summary"),
    path("stats/breakdown/", api.StatsBreakdown.as_view(), name="stats-breakdown"),
    path("stats/heatmap/", api.StatsHeatmap.as_view(), name="stats-heatmap"),
    path("stats/distribution/", api.StatsDistribution.as_view(), name="stats-distribution"),
    path("sla-policies/", api.SlaPolicyList.as_view(), name="sla-policy-list"),
]
