"""Public (no login) inbox pages, mounted at /p/ inside the `engagement` namespace."""

from django.urls import path

from engagement.inbox import public_views

urlpatterns = [
    path("csat/<str:token>/", public_views.csat_page, name="csat"),
    path("media/<str:token>/", public_views.inbox_media, name="inbox-media"),
]
