"""Campaign pages for admins and marketers: list, builder with live estimate and preview,
send page with progress, report, offers (coupon pools, polls, referral programs), gift
offers and idea boards."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers.models import Customer, Order
from engagement.campaigns import journeys, personalize, planning, selectors, services
from engagement.campaigns.forms import (
    CampaignForm,
    CouponPoolForm,
    GiftListForm,
    GiftOfferForm,
    IdeaBoardForm,
    IdeaBoardSettingsForm,
    IdeaSearchForm,
    JourneyStepForm,
    ModerateIdeaForm,
    PollForm,
    PreviewForm,
    RedeemForm,
    ReferralProgramForm,
    SearchForm,
)
from engagement.campaigns.models import (
    Campaign,
    CouponPool,
    GiftOffer,
    Idea,
    IdeaBoard,
    Poll,
    ReferralProgram,
    SkipReason,
)
from scrm.charts import bar_chart
from scrm.pagination import paginate
from scrm.staff.roles import Role, roles_required

CAMPAIGN_ROLES = (Role.ADMIN, Role.MARKETER)


def _campaign_or_404(campaign_id: int) -> Campaign:
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        raise Http404
    return campaign


@require_GET
@roles_required(*CAMPAIGN_ROLES)
def campaign_list(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    query, status = (form.cleaned_data["q"].strip(), form.cleaned_data["status"]) if form.is_valid() else ("", "")
    page = paginate(request, selectors.campaigns(query=query, status=status))
    context = {"page": page, "query": query, "status": status, "statuses": Campaign.Status.choices}
    template = "engagement/campaigns/campaign_list.html#campaign-table" if request.htmx else "engagement/campaigns/campaign_list.html"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@roles_required(*CAMPAIGN_ROLES)
def campaign_create(request: HttpRequest) -> HttpResponse:
    return _builder(request, None)


@require_http_methods(["GET", "POST"])
@roles_required(*CAMPAIGN_ROLES)
def campaign_edit(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign_or_404(campaign_id)
    if not campaign.is_editable:
        messages.error(request, _("Only a draft or scheduled campaign can be edited."))
        return redirect("engagement:campaign-detail", campaign.pk)
    return _builder(request, campaign)


def _builder(request: HttpRequest, campaign: Campaign | None) -> HttpResponse:
    if request.method == "POST":
        form = CampaignForm(request.POST)
        if form.is_valid():
            campaign = services.save_campaign(
                campaign=campaign, fields=form.campaign_fields(), segments=form.cleaned_data["segments"],
                exclusions=form.cleaned_data["exclusion_segments"], variants=form.variants(), actor=request.user,
            )
            messages.success(request, _("Campaign saved."))
            return redirect("engagement:campaign-detail", campaign.pk)
    else:
        form = CampaignForm(initial=CampaignForm.initial_for(campaign) if campaign else None)
    context = {"form": form, "campaign": campaign, "variables": personalize.VARIABLES}
    return render(request, "engagement/campaigns/campaign_form.html", context)


@require_POST
@roles_required(*CAMPAIGN_ROLES)
def campaign_estimate(request: HttpRequest) -> HttpResponse:
    """The builder's live estimate: who would get it and who would be skipped, and why."""
    form = CampaignForm(request.POST)
    form.is_valid()  # an incomplete form still has an audience worth estimating
    data = form.cleaned_data
    segment_ids = [s.pk for s in data.get("segments") or []]
    estimate = None
    if segment_ids:
        audience = planning.segments_audience(segment_ids, [s.pk for s in data.get("exclusion_segments") or []])
        estimate = planning.estimate(_draft(data), audience)
    labels = dict(SkipReason.choices)
    skipped = [(labels[reason], count) for reason, count in sorted((estimate.skipped if estimate else {}).items())]
    return render(request, "engagement/campaigns/partials/estimate.html", {"estimate": estimate, "skipped": skipped})


def _draft(data: dict[str, object]) -> Campaign:
    """An unsaved campaign carrying the guards the form has so far (defaults elsewhere)."""
    defaults = {field.name: field.get_default() for field in Campaign._meta.concrete_fields if not field.primary_key}
    names = ("channel", "message_type", "frequency_cap", "frequency_days", "quiet_start", "quiet_end", "timezone", "best_send_time")
    return Campaign(**{name: data[name] if data.get(name) not in (None, "") else defaults[name] for name in names})


@require_GET
@roles_required(*CAMPAIGN_ROLES)
def campaign_preview(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign_or_404(campaign_id)
    form = PreviewForm(request.GET)
    previews, customer = [], None
    if form.is_valid():
        customer = Customer.objects.filter(pk=form.cleaned_data["customer"], merged_into__isnull=True).first()
    if customer is not None:
        variables = personalize.customer_variables(customer) | {
            "coupon": "COUPON-CODE", "link": "https://…/p/l/…", "poll_link": "https://…/p/poll/…", "referral_link": "https://…/p/r/…",
            "gift_link": "https://…/p/gift/…", "ideas_link": "https://…/p/ideas/…",
        }
        previews = [(v, personalize.render_message(v, campaign.message_type, variables)) for v in campaign.variants.all()]
    context = {"campaign": campaign, "form": form, "customer": customer, "previews": previews}
    return render(request, "engagement/campaigns/partials/preview.html", context)


@require_GET
@roles_required(*CAMPAIGN_ROLES)
def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign_or_404(campaign_id)
    context = {
        "campaign": campaign, "progress": selectors.progress(campaign), "variants": list(campaign.variants.all()),
        "steps": list(campaign.steps.select_related("variant")), "preview_form": PreviewForm(),
        "segments": list(campaign.segments.all()), "exclusions": list(campaign.exclusion_segments.all()),
    }
    return render(request, "engagement/campaigns/campaign_detail.html", context)


@require_GET
@roles_required(*CAMPAIGN_ROLES)
def campaign_progress(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign_or_404(campaign_id)
    return render(request, "engagement/campaigns/campaign_detail.html#progress", {"campaign": campaign, "progress": selectors.progress(campaign)})


@require_POST
@roles_required(*CAMPAIGN_ROLES)
def campaign_action(request: HttpRequest, campaign_id: int, action: str) -> HttpResponse:
    campaign = _campaign_or_404(campaign_id)
    try:
        if action == "start":
            services.start_campaign(campaign=campaign, actor=request.user, public_base_url=request.build_absolute_uri("/"))
        elif action == "pause":
            services.pause_campaign(campaign=campaign, actor=request.user)
        elif action == "resume":
            services.resume_campaign(campaign=campaign, actor=request.user)
        elif action == "cancel":
            services.cancel_campaign(campaign=campaign, actor=request.user)
        else:
            raise Http404
    except services.CampaignError as error:
        messages.error(request, str(error))
    return redirect("engagement:campaign-detail", campaign.pk)


@require_GET
@roles_required(*CAMPAIGN_ROLES)
def campaign_report(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign_or_404(campaign_id)
    funnel = selectors.funnel(campaign)
    total = funnel["total"]
    stages = [(_("Targeted"), total["targeted"]), (_("Planned"), total["planned"]), (_("Sent"), total["sent"]),
              (_("Delivered"), total["delivered"]), (_("Read"), total["read"]), (_("Clicked"), total["clicked"]),
              (_("Converted"), total["converted"])]
    polls = selectors.poll_results(campaign)
    context = {
        "campaign": campaign, "funnel": funnel, "stages": stages,
        "funnel_chart": bar_chart(stages, width=560),
        "skipped_chart": bar_chart([(label, n) for label, n, _code in funnel["skipped"]], width=560, color="#d97706"),
        "poll_results": polls, "poll_chart": bar_chart(polls, width=480) if polls else None,
        "winner": selectors.winner(campaign, funnel["by_variant"]), "advocates": selectors.top_advocates(campaign),
        "tree": selectors.referral_tree(campaign), "coupons": selectors.coupon_stats(campaign), "clicks": selectors.clicks(campaign),
        "gifts": selectors.gift_stats(campaign=campaign) if campaign.gift_offer_id else None,
        "ideas": selectors.idea_stats(campaign.idea_board) if campaign.idea_board_id else None,
    }
    return render(request, "engagement/campaigns/campaign_report.html", context)


# --- the journey builder ------------------------------------------------------------------


def _journey_or_404(campaign_id: int) -> Campaign:
    campaign = _campaign_or_404(campaign_id)
    if campaign.kind != Campaign.Kind.JOURNEY:
        raise Http404
    return campaign


def _step_form(campaign: Campaign, data: Any = None, *, prefix: str, **kwargs: Any) -> JourneyStepForm:
    steps = list(campaign.steps.select_related("variant"))
    form = JourneyStepForm(data, campaign=campaign, steps=steps, prefix=prefix, **kwargs)
    if prefix == "edit":  # the form opens inside its card: keyboard focus goes with it
        form.fields["action"].widget.attrs["autofocus"] = True
    return form


def _journey_page(
    request: HttpRequest, campaign: Campaign, *, add_form: JourneyStepForm | None = None,
    edit_form: JourneyStepForm | None = None, editing: int | None = None, errors: list[str] | None = None,
) -> HttpResponse:
    cards, problems, past_end = selectors.journey_flow(campaign)
    context = {
        "campaign": campaign, "cards": cards, "problems": problems, "past_end": past_end, "errors": errors or [],
        "add_form": add_form or _step_form(campaign, prefix="add") if campaign.is_editable else None,
        "edit_form": edit_form, "editing": editing, "has_variants": campaign.variants.exists(),
    }
    template = "engagement/campaigns/journey.html#journey" if request.htmx else "engagement/campaigns/journey.html"
    return render(request, template, context)


def _apply_edit(request: HttpRequest, campaign: Campaign, change: Callable[..., Any], **forms: Any) -> HttpResponse:
    """Save one edit through the service; a broken rule re-renders the builder with why."""
    try:
        services.edit_journey(campaign=campaign, change=change, actor=request.user)
    except journeys.JourneyProblems as error:
        return _journey_page(request, campaign, errors=[p.message for p in error.problems], **forms)
    except services.CampaignError as error:
        return _journey_page(request, campaign, errors=[str(error)], **forms)
    if request.htmx:
        return _journey_page(request, campaign)
    return redirect("engagement:journey-builder", campaign.pk)


@require_GET
@roles_required(*CAMPAIGN_ROLES)
def journey_builder(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """Build a draft journey step by step; once it runs, the same flow with its counts."""
    return _journey_page(request, _journey_or_404(campaign_id))


@require_POST
@roles_required(*CAMPAIGN_ROLES)
def journey_step_add(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _journey_or_404(campaign_id)
    form = _step_form(campaign, request.POST, prefix="add")
    if not form.is_valid():
        return _journey_page(request, campaign, add_form=form)
    change = partial(journeys.insert_step, step=form.step(), before=form.cleaned_data["before"])
    return _apply_edit(request, campaign, change, add_form=form)


@require_http_methods(["GET", "POST"])
@roles_required(*CAMPAIGN_ROLES)
def journey_step_edit(request: HttpRequest, campaign_id: int, index: int) -> HttpResponse:
    campaign = _journey_or_404(campaign_id)
    step = campaign.steps.filter(position=index).first()
    if step is None:
        raise Http404
    data = request.POST if request.method == "POST" else None
    form = _step_form(campaign, data, prefix="edit", initial=JourneyStepForm.initial_for(step))
    if request.method == "GET" or not form.is_valid():
        return _journey_page(request, campaign, edit_form=form, editing=index)
    change = partial(journeys.replace_step, index=index, step=form.step())
    return _apply_edit(request, campaign, change, edit_form=form, editing=index)


@require_POST
@roles_required(*CAMPAIGN_ROLES)
def journey_step_delete(request: HttpRequest, campaign_id: int, index: int) -> HttpResponse:
    campaign = _journey_or_404(campaign_id)
    return _apply_edit(request, campaign, partial(journeys.delete_step, index=index))


@require_POST
@roles_required(*CAMPAIGN_ROLES)
def journey_step_move(request: HttpRequest, campaign_id: int, index: int) -> HttpResponse:
    campaign = _journey_or_404(campaign_id)
    offset = {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    if offset is None:
        return _journey_page(request, campaign, errors=[_("Move a step up or down.")])
    return _apply_edit(request, campaign, partial(journeys.move_step, index=index, offset=offset))


@require_GET
@roles_required(*CAMPAIGN_ROLES)
def offer_list(request: HttpRequest) -> HttpResponse:
    return _offers(request)


def _offers(request: HttpRequest, **forms: object) -> HttpResponse:
    context = {
        "pools": CouponPool.objects.all()[:100], "polls": Poll.objects.prefetch_related("options")[:100],
        "programs": ReferralProgram.objects.all()[:100],
        "pool_form": forms.get("pool_form") or CouponPoolForm(), "poll_form": forms.get("poll_form") or PollForm(),
        "program_form": forms.get("program_form") or ReferralProgramForm(), "redeem_form": forms.get("redeem_form") or RedeemForm(),
    }
    return render(request, "engagement/campaigns/offers.html", context)


@require_POST
@roles_required(*CAMPAIGN_ROLES)
def coupon_pool_create(request: HttpRequest) -> HttpResponse:
    form = CouponPoolForm(request.POST)
    if not form.is_valid():
        return _offers(request, pool_form=form)
    data = form.cleaned_data
    pool = services.create_coupon_pool(
        name=data["name"], description=data["description"], kind=data["kind"], prefix=data["prefix"] or "",
        generate=data["generate"] or 0, codes=data["codes"].splitlines(), actor=request.user,
    )
    messages.success(request, _("Coupon pool “%(name)s” has %(count)s codes.") % {"name": pool.name, "count": pool.coupons.count()})
    return redirect("engagement:offer-list")


@require_POST
@roles_required(*CAMPAIGN_ROLES)
def poll_create(request: HttpRequest) -> HttpResponse:
    form = PollForm(request.POST)
    if not form.is_valid():
        return _offers(request, poll_form=form)
    services.create_poll(question=form.cleaned_data["question"], options=form.cleaned_data["options"], actor=request.user)
    messages.success(request, _("Poll created."))
    return redirect("engagement:offer-list")


@require_POST
@roles_required(*CAMPAIGN_ROLES)
def referral_program_create(request: HttpRequest) -> HttpResponse:
    form = ReferralProgramForm(request.POST)
    if not form.is_valid():
        return _offers(request, program_form=form)
    services.create_referral_program(**form.cleaned_data, actor=request.user)
    messages.success(request, _("Referral program created."))
    return redirect("engagement:offer-list")


@require_POST
@roles_required(*CAMPAIGN_ROLES)
def coupon_redeem(request: HttpRequest) -> HttpResponse:
    """Redeem a code against an order (the API path; orders carrying a code redeem themselves)."""
    form = RedeemForm(request.POST)
    if form.is_valid():
        order = Order.objects.filter(external_id=form.cleaned_data["order"]).first()
        if order is None:
            form.add_error("order", _("No such order."))
        else:
            try:
                services.redeem_coupon(code=form.cleaned_data["code"], order=order)
            except services.CampaignError as error:
                form.add_error("code", str(error))
    if not form.is_valid():
        return _offers(request, redeem_form=form)
    messages.success(request, _("Coupon redeemed."))
    return redirect("engagement:offer-list")



# --- gift offers ------------------------------------------------------------------------------


def _gift_offer_or_404(offer_id: int) -> GiftOffer:
    offer = GiftOffer.objects.select_related("coupon_pool").filter(pk=offer_id).first()
    if offer is None:
        raise Http404
    return offer


@require_GET
@roles_required(*CAMPAIGN_ROLES)
def gift_offer_list(request: HttpRequest) -> HttpResponse:
    return render(request, "engagement/campaigns/gift_offer_list.html", {"page": paginate(request, selectors.gift_offers())})


@require_http_methods(["GET", "POST"])
@roles_required(*CAMPAIGN_ROLES)
def gift_offer_create(request: HttpRequest) -> HttpResponse:
    form = GiftOfferForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        offer = services.create_gift_offer(**form.cleaned_data, actor=request.user)
        messages.success(request, _("Gift offer created."))
        return redirect("engagement:gift-offer-detail", offer.pk)
    return render(request, "engagement/campaigns/gift_offer_form.html", {"form": form})


@require_GET
@roles_required(*CAMPAIGN_ROLES)
def gift_offer_detail(request: HttpRequest, offer_id: int) -> HttpResponse:
    offer = _gift_offer_or_404(offer_id)
    form = GiftListForm(request.GET)
    claimed = form.cleaned_data["claimed"] if form.is_valid() else ""
    context = {
        "offer": offer, "stats": selectors.gift_stats(offer=offer), "claimed": claimed,
        "page": paginate(request, selectors.gifts(offer, claimed=claimed)),
    }
    template = "engagement/campaigns/gift_offer_detail.html"
    return render(request, f"{template}#gift-table" if request.htmx else template, context)


@require_POST
@roles_required(*CAMPAIGN_ROLES)
def gift_offer_active(request: HttpRequest, offer_id: int) -> HttpResponse:
    offer = _gift_offer_or_404(offer_id)
    services.set_gift_offer_active(offer=offer, is_active=not offer.is_active, actor=request.user)
    messages.success(request, _("Gift offer opened.") if offer.is_active else _("Gift offer closed."))
    return redirect("engagement:gift-offer-detail", offer.pk)


# --- idea boards ------------------------------------------------------------------------------


def _board_or_404(board_id: int) -> IdeaBoard:
    board = IdeaBoard.objects.filter(pk=board_id).first()
    if board is None:
        raise Http404
    return board


@require_GET
@roles_required(*CAMPAIGN_ROLES)
def idea_board_list(request: HttpRequest) -> HttpResponse:
    return render(request, "engagement/campaigns/idea_board_list.html", {"page": paginate(request, selectors.idea_boards())})


@require_http_methods(["GET", "POST"])
@roles_required(*CAMPAIGN_ROLES)
def idea_board_create(request: HttpRequest) -> HttpResponse:
    form = IdeaBoardForm(request.POST or None, initial={"moderated": True})
    if request.method == "POST" and form.is_valid():
        board = services.create_idea_board(**form.cleaned_data, actor=request.user)
        messages.success(request, _("Idea board created."))
        return redirect("engagement:idea-board-detail", board.pk)
    return render(request, "engagement/campaigns/idea_board_form.html", {"form": form})


@require_GET
@roles_required(*CAMPAIGN_ROLES)
def idea_board_detail(request: HttpRequest, board_id: int) -> HttpResponse:
    board = _board_or_404(board_id)
    form = IdeaSearchForm(request.GET)
    filters = {"query": "", "moderation": "", "status": ""}
    if form.is_valid():
        filters = {"query": form.cleaned_data["q"].strip(), "moderation": form.cleaned_data["moderation"],
                   "status": form.cleaned_data["status"]}
    context = {
        "board": board, "stats": selectors.idea_stats(board), **filters,
        "page": paginate(request, selectors.ideas(board, **filters)),
        "moderations": Idea.Moderation.choices, "statuses": Idea.Status.choices,
        "settings_form": IdeaBoardSettingsForm(initial={"is_open": board.is_open, "moderated": board.moderated}),
    }
    template = "engagement/campaigns/idea_board_detail.html"
    return render(request, f"{template}#idea-table" if request.htmx else template, context)


@require_POST
@roles_required(*CAMPAIGN_ROLES)
def idea_board_settings(request: HttpRequest, board_id: int) -> HttpResponse:
    board = _board_or_404(board_id)
    form = IdeaBoardSettingsForm(request.POST)
    form.is_valid()  # two checkboxes: an unchecked box is simply False
    services.update_idea_board(board=board, actor=request.user, **form.cleaned_data)
    messages.success(request, _("Board settings saved."))
    return redirect("engagement:idea-board-detail", board.pk)


@require_POST
@roles_required(*CAMPAIGN_ROLES)
def idea_moderate(request: HttpRequest, idea_id: int) -> HttpResponse:
    """Approve, hide or mark an idea's status; an HTMX post gets its table row back."""
    idea = Idea.objects.select_related("board", "customer").filter(pk=idea_id).first()
    if idea is None:
        raise Http404
    form = ModerateIdeaForm(request.POST)
    if form.is_valid():
        services.moderate_idea(
            idea=idea, moderation=form.cleaned_data["moderation"] or None, status=form.cleaned_data["status"] or None,
            actor=request.user,
        )
    if not request.htmx:
        return redirect("engagement:idea-board-detail", idea.board_id)
    idea.vote_count = idea.votes.count()
    context = {"idea": idea, "moderations": Idea.Moderation.choices, "statuses": Idea.Status.choices}
    return render(request, "engagement/campaigns/idea_board_detail.html#idea-row", context)
