"""Inbox URLs, mounted at /inbox/ inside the `engagement` namespace."""

from django.urls import path

from engagement.inbox import listening_views, settings_views, views

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("list/", views.conversation_list, name="inbox-list"),
    path("reports/", views.inbox_reports, name="inbox-reports"),
    path("settings/", settings_views.inbox_settings, name="inbox-settings"),
    *(path(f"settings/{kind}/new/", settings_views.setting_edit, {"kind": kind}, name=f"inbox-{kind}-new")
      for kind in settings_views.KINDS),
    path("settings/<str:kind>/<int:setting_id>/", settings_views.setting_edit, name="inbox-setting-edit"),
    path("settings/<str:kind>/<int:setting_id>/delete/", settings_views.setting_delete, name="inbox-setting-delete"),
    path("availability/", views.availability, name="inbox-availability"),
    path("c/<int:conversation_id>/", views.conversation, name="inbox-conversation"),
    path("c/<int:conversation_id>/thread/", views.conversation_thread, name="inbox-thread"),
    path("c/<int:conversation_id>/presence/", views.conversation_presence, name="inbox-presence"),
    path("c/<int:conversation_id>/reply/", views.conversation_reply, name="inbox-reply"),
    path("c/<int:conversation_id>/note/", views.conversation_note, name="inbox-note"),
    path("c/<int:conversation_id>/canned/<int:canned_id>/", views.canned_reply, name="inbox-canned"),
    path("c/<int:conversation_id>/<str:action>/", views.conversation_action, name="inbox-action"),
    # Listening lives beside the inbox: its mentions become conversations.
    path("listening/", listening_views.listening_dashboard, name="listening"),
    path("listening/feed/", listening_views.listening_feed, name="listening-feed"),
    path("listening/monitors/", listening_views.monitor_create, name="listening-monitor-create"),
    path("listening/mentions/<int:mention_id>/reply/", listening_views.mention_reply, name="listening-mention-reply"),
]
