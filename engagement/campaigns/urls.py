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
    path("gifts/", views.gift_offer_list, name="gift-offer-list"),
    path("gifts/new/", views.gift_offer_create, name="gift-offer-create"),
    path("gifts/<int:offer_id>/", views.gift_offer_detail, name="gift-offer-detail"),
    path("gifts/<int:offer_id>/active/", views.gift_offer_active, name="gift-offer-active"),
    path("ideas/", views.idea_board_list, name="idea-board-list"),
    path("ideas/new/", views.idea_board_create, name="idea-board-create"),
    path("ideas/<int:board_id>/", views.idea_board_detail, name="idea-board-detail"),
    path("ideas/<int:board_id>/settings/", views.idea_board_settings, name="idea-board-settings"),
    path("ideas/idea/<int:idea_id>/", views.idea_moderate, name="idea-moderate"),
    path("<int:campaign_id>/", views.campaign_detail, name="campaign-detail"),
    path("<int:campaign_id>/edit/", views.campaign_edit, name="campaign-edit"),
    path("<int:campaign_id>/preview/", views.campaign_preview, name="campaign-preview"),
    path("<int:campaign_id>/progress/", views.campaign_progress, name="campaign-progress"),
    path("<int:campaign_id>/report/", views.campaign_report, name="campaign-report"),
    path("<int:campaign_id>/journey/", views.journey_builder, name="journey-builder"),
    path("<int:campaign_id>/journey/steps/", views.journey_step_add, name="journey-step-add"),
    path("<int:campaign_id>/journey/steps/<int:index>/", views.journey_step_edit, name="journey-step-edit"),
    path("<int:campaign_id>/journey/steps/<int:index>/delete/", views.journey_step_delete, name="journey-step-delete"),
    path("<int:campaign_id>/journey/steps/<int:index>/move/", views.journey_step_move, name="journey-step-move"),
    path("<int:campaign_id>/<str:action>/", views.campaign_action, name="campaign-action"),
]
