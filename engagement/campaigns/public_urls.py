"""Hosted public pages under /p/ (no login), inside the `engagement` namespace."""

from django.urls import path

from engagement.campaigns import public_views

urlpatterns = [
    path("l/<str:code>/", public_views.link_redirect, name="public-link-anonymous"),
    path("l/<str:code>/<str:token>/", public_views.link_redirect, name="public-link"),
    path("poll/<str:slug>/<str:token>/", public_views.poll_page, name="public-poll"),
    path("r/<str:code>/", public_views.referral_page, name="public-referral"),
    path("c/<str:token>/", public_views.coupon_page, name="public-coupon"),
    path("gift/<str:token>/", public_views.gift_send_page, name="public-gift-send"),
    path("g/<str:code>/", public_views.gift_claim_page, name="public-gift-claim"),
    path("ideas/<str:slug>/<str:token>/", public_views.idea_board_page, name="public-ideas"),
    path("ideas/<str:slug>/<str:token>/vote/", public_views.idea_vote, name="public-idea-vote"),
]
