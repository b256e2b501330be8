"""Campaign URLs, mounted at /campaigns/ inside the `engagement` namespace."""

from django.urls import path

from engagement.campaigns import views

urlpatterns = [
    path("", views.campaign_list, name="campaign-list"),
    path("new/", views.campaign_create, name="campaign-create"),
    path("estimate/", views.campaign_estimate, name="campaign-estimate"),
    path("offers/", views.offer_list, name="offer-list"),
    path("offers/coupons/", views.coupon_pool_create, name="coupon-pool-create"),
    path("offers/coupons/redeem/", views.coupon_redeem, name="coupon-redeem"),
    path("offers/polls/", views.poll_create, name="poll-create"),
    path("offers/referrals/", views.referral_program_create, name="referral-program-create"),
    path("<int:campaign_id>/", views.campaign_detail, name="campaign-detail"),
    path("<int:campaign_id>/edit/", views.campaign_edit, name="campaign-edit"),
    path("<int:campaign_id>/preview/", views.campaign_preview, name="campaign-preview"),
    path("<int:campaign_id>/progress/", views.campaign_progress, name="campaign-progress"),
    path("<int:campaign_id>/report/", views.campaign_report, name="campaign-report"),
    path("<int:campaign_id>/<str:action>/", views.campaign_action, name="campaign-action"),
]
