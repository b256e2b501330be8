from django.urls import include, path

app_name = "engagement"

urlpatterns = [
    path("inbox/", include("engagement.inbox.urls")),
    path("p/", include("engagement.inbox.public_urls")),
    path("campaigns/", include("engagement.campaigns.urls")),
    path("p/", include("engagement.campaigns.public_urls")),
]
