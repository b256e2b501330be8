"""Brand URLs (every host but the public one)."""

from django.contrib import admin
from django.urls import include, path

from scrm import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("scrm.staff.urls")),
    path("customers/", include("customers.urls")),
    path("", include("engagement.urls")),
    path("segments/", include("segments.urls")),
    path("", include("channels.urls")),
    path("django-admin/", admin.site.urls),
]
