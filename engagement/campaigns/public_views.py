"""Hosted pages for customers (no login): tracked links, poll, referral landing, coupon
claim. Rate limited per client, CSRF-protected forms, everything rendered escaped. A
recipient is known only by the signed token in their own links."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from customers.resolution import Claim, IdentityClaim, resolve
from engagement.campaigns import services
from engagement.campaigns.forms import ReferralSignUpForm, VoteForm
from engagement.campaigns.models import CampaignRecipient, Poll, ReferralLink
from engagement.campaigns.ratelimit import rate_limited
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
