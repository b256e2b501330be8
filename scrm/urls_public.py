"""Public-host URLs: sign-up and health. Brand pages are not reachable here."""

from django.urls import include, path

from scrm import views

urlpatterns = [
    path("", views.signup, name="signup"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
]
