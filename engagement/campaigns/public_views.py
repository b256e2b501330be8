"""Hosted pages for customers (no login): tracked links, poll, referral landing, coupon
claim, sending and claiming a gift, idea board. Rate limited per client, CSRF-protected
forms, everything rendered escaped. A recipient is known only by the signed token in their
own links; a friend claiming a gift says who they are with their email, as a referred
friend does."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers.resolution import Claim, IdentityClaim, resolve
from engagement.campaigns import selectors, services
from engagement.campaigns.forms import (
    GiftClaimForm,
    GiftSendForm,
    IdeaForm,
    IdeaVoteForm,
    ReferralSignUpForm,
    VoteForm,
)
from engagement.campaigns.models import CampaignRecipient, Gift, Idea, IdeaBoard, Poll, ReferralLink
from engagement.campaigns.ratelimit import rate_limited
from scrm.pagination import paginate
from scrm.staff.roles import public_view


@public_view
@require_GET
@rate_limited(per_minute=120)
def link_redirect(request: HttpRequest, code: str, token: str = "") -> HttpResponse:
    url = services.record_click(link_code=code, token=token, user_agent=request.META.get("HTTP_USER_AGENT", ""))
    if url is None or not url.startswith(("https://", "http://")):
        raise Http404
    return HttpResponseRedirect(url)


def _recipient(token: str) -> CampaignRecipient:
    recipient = services.recipient_from_token(token)
    if recipient is None:
        raise Http404
    return recipient


@public_view
@require_http_methods(["GET", "POST"])
@rate_limited(per_minute=30)
def poll_page(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    poll = Poll.objects.filter(slug=slug).prefetch_related("options").first()
    recipient = _recipient(token)
    if poll is None or recipient.campaign.poll_id != poll.pk:
        raise Http404
    voted = poll.votes.filter(customer_id=recipient.customer_id).select_related("option").first()
    error = ""
    if request.method == "POST" and voted is None:
        form = VoteForm(request.POST)
        option = poll.options.filter(pk=form.cleaned_data["option"]).first() if form.is_valid() else None
        if option is None:
            error = _("Please choose an option.")
        elif services.cast_vote(poll=poll, option=option, customer_id=recipient.customer_id, source="page"):
            voted = poll.votes.filter(customer_id=recipient.customer_id).select_related("option").first()
        else:
            error = _("This poll is closed.")
    return render(request, "engagement/campaigns/public/poll.html", {"poll": poll, "voted": voted, "error": error})


@public_view
@require_http_methods(["GET", "POST"])
@rate_limited(per_minute=20)
def referral_page(request: HttpRequest, code: str) -> HttpResponse:
    link = ReferralLink.objects.select_related("program", "customer").filter(code=code, program__is_active=True).first()
    if link is None:
        raise Http404
    form, done, error = ReferralSignUpForm(request.POST or None), False, ""
    if request.method == "POST" and form.is_valid():
        claim = Claim(
            identities=(IdentityClaim(kind="email", value=form.cleaned_data["email"], source="referral"),),
            display_name=form.cleaned_data["name"].replace("\x00", ""),
        )
        [referee_id] = resolve([claim], source="referral")
        try:
            services.refer(code=code, referee_id=referee_id)
            done = True
        except services.CampaignError as error_:
            error = str(error_)
    context = {"link": link, "program": link.program, "form": form, "done": done, "error": error}
    return render(request, "engagement/campaigns/public/referral.html", context)


@public_view
@require_http_methods(["GET", "POST"])
@rate_limited(per_minute=30)
def coupon_page(request: HttpRequest, token: str) -> HttpResponse:
    recipient = _recipient(token)
    if recipient.campaign.coupon_pool_id is None:
        raise Http404
    coupon = recipient.customer.coupons.filter(pool_id=recipient.campaign.coupon_pool_id).first()
    if request.method == "POST" and coupon is None:
        coupon = services.claim_coupon(recipient=recipient)
    context = {"pool": recipient.campaign.coupon_pool, "coupon": coupon, "campaign": recipient.campaign}
    return render(request, "engagement/campaigns/public/coupon.html", context)


@public_view
@require_http_methods(["GET", "POST"])
@rate_limited(per_minute=20)
def gift_send_page(request: HttpRequest, token: str) -> HttpResponse:
    """A campaign recipient sends the campaign's gift to a friend and gets the claim link."""
    recipient = _recipient(token)
    offer = recipient.campaign.gift_offer
    if offer is None:
        raise Http404
    form, error = GiftSendForm(request.POST or None), ""
    if request.method == "POST" and form.is_valid():
        try:
            services.send_gift(
                offer=offer, sender_id=recipient.customer_id, campaign=recipient.campaign,
                friend_name=form.cleaned_data["friend_name"].replace("\x00", ""),
                message=form.cleaned_data["message"].replace("\x00", ""),
            )
            # Post/redirect/get: reloading the page must not send another gift.
            return HttpResponseRedirect(reverse("engagement:public-gift-send", args=[token]) + "?sent=1")
        except services.CampaignError as error_:
            error = str(error_)
    sent = [
        (g, request.build_absolute_uri(reverse("engagement:public-gift-claim", args=[g.code])))
        for g in Gift.objects.filter(offer=offer, sender_id=recipient.customer_id).select_related("claim").order_by("-sent_at")[:20]
    ]
    context = {"offer": offer, "form": form, "error": error, "just_sent": request.GET.get("sent") == "1" and bool(sent),
               "sent": sent, "can_send": len(sent) < offer.per_sender}
    return render(request, "engagement/campaigns/public/gift_send.html", context)


@public_view
@require_http_methods(["GET", "POST"])
@rate_limited(per_minute=20)
def gift_claim_page(request: HttpRequest, code: str) -> HttpResponse:
    gift = Gift.objects.select_related("offer", "sender").filter(code=code).first()
    if gift is None:
        raise Http404
    form, error = GiftClaimForm(request.POST or None), ""
    if request.method == "POST" and form.is_valid():
        identity = IdentityClaim(kind="email", value=form.cleaned_data["email"], source="gift")
        [friend_id] = resolve([Claim(identities=(identity,), display_name=form.cleaned_data["name"].replace("\x00", ""))],
                              source="gift")
        try:
            claim = services.claim_gift(code=code, customer_id=friend_id)
            # Post/redirect/get to the friend's own link: a reload shows them their claim.
            url = reverse("engagement:public-gift-claim", args=[code])
            return HttpResponseRedirect(f"{url}?claim={services.gift_claim_token(claim)}")
        except services.CampaignError as error_:
            error = str(error_)
    claim = services.gift_claim_from_token(gift, request.GET.get("claim", ""))
    already = claim is None and not error and hasattr(gift, "claim")
    context = {"gift": gift, "offer": gift.offer, "form": form, "error": error, "claim": claim, "already": already}
    return render(request, "engagement/campaigns/public/gift_claim.html", context)


def _board_and_recipient(slug: str, token: str) -> tuple[IdeaBoard, CampaignRecipient]:
    board = IdeaBoard.objects.filter(slug=slug).first()
    recipient = _recipient(token)
    if board is None or recipient.campaign.idea_board_id != board.pk:
        raise Http404
    return board, recipient


@public_view
@require_http_methods(["GET", "POST"])
@rate_limited(per_minute=30)
def idea_board_page(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    board, recipient = _board_and_recipient(slug, token)
    form, error = IdeaForm(request.POST or None), ""
    if request.method == "POST" and form.is_valid():
        try:
            idea = services.submit_idea(board=board, customer_id=recipient.customer_id, **form.cleaned_data)
            # Post/redirect/get: reloading the page must not submit the idea again.
            return HttpResponseRedirect(reverse("engagement:public-ideas", args=[slug, token]) + f"?thanks={idea.moderation}")
        except services.CampaignError as error_:
            error = str(error_)
    return _render_board(request, board, recipient, token, form=form, error=error)


@public_view
@require_POST
@rate_limited(per_minute=60)
def idea_vote(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """Vote for an idea or take the vote back (a toggle); an HTMX post gets the board's list."""
    board, recipient = _board_and_recipient(slug, token)
    form = IdeaVoteForm(request.POST)
    idea = Idea.objects.select_related("board").filter(pk=form.cleaned_data["idea"], board=board).first() if form.is_valid() else None
    if idea is None:
        raise Http404
    error = ""
    try:
        services.toggle_idea_vote(idea=idea, customer_id=recipient.customer_id)
    except services.CampaignError as error_:
        error = str(error_)
    if not request.htmx and not error:
        return HttpResponseRedirect(reverse("engagement:public-ideas", args=[slug, token]))
    return _render_board(request, board, recipient, token, form=IdeaForm(), error=error, partial=bool(request.htmx))


def _render_board(
    request: HttpRequest, board: IdeaBoard, recipient: CampaignRecipient, token: str, *, form: IdeaForm, error: str = "",
    partial: bool = False,
) -> HttpResponse:
    thanks = request.GET.get("thanks", "")
    context = {
        "board": board, "form": form, "error": error, "token": token,
        "thanks": thanks if thanks in (Idea.Moderation.PENDING, Idea.Moderation.APPROVED) else "",
        "page": paginate(request, selectors.public_ideas(board, customer_id=recipient.customer_id), per_page=30),
    }
    template = "engagement/campaigns/public/ideas.html"
    return render(request, f"{template}#idea-list" if partial else template, context)
