from django.urls import path

from segments import views

app_name = "segments"

urlpatterns = [
    path("", views.segment_list, name="segment-list"),
    path("new/", views.segment_create, name="segment-create"),
    path("upload/", views.segment_upload, name="segment-upload"),
    path("builder/", views.segment_builder, name="segment-builder"),
    path("preview/", views.segment_preview, name="segment-preview"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("scoring/", views.scoring_settings, name="scoring-settings"),
    path("<int:segment_id>/", views.segment_detail, name="segment-detail"),
    path("<int:segment_id>/edit/", views.segment_edit, name="segment-edit"),
    path("<int:segment_id>/refresh/", views.segment_refresh, name="segment-refresh"),
    path("<int:segment_id>/status/", views.segment_status, name="segment-status"),
    path("<int:segment_id>/export.csv", views.segment_export, name="segment-export"),
    path("<int:segment_id>/delete/", views.segment_delete, name="segment-delete"),
]
