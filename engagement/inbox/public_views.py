"""Hosted pages customers open without logging in: the satisfaction rating page.

The token is signed and names the brand's schema; forged, expired or another brand's
tokens are a 404. POSTs need the CSRF token of the page; each client address may try
RATE_LIMIT times a minute (Redis counter, brand-scoped like every cache key)."""

from __future__ import annotations

from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from engagement.inbox import csat
from scrm.staff.roles import public_view

RATE_LIMIT = 20


def _over_limit(request: HttpRequest) -> bool:
    key = f"inbox:csat-rate:{request.META.get('REMOTE_ADDR', '')}"
    cache.add(key, 0, timeout=60)
    try:
        return cache.incr(key) > RATE_LIMIT
    except ValueError:  # expired between add and incr
        return False


@public_view
@require_http_methods(["GET", "POST"])
def csat_page(request: HttpRequest, token: str) -> HttpResponse:
    if _over_limit(request):
        return HttpResponse(status=429)
    survey = csat.survey_from_token(token)
    if survey is None:
        raise Http404
    expired = survey.expires_at <= timezone.now()
    thanked = False
    if request.method == "POST" and not expired:
        rating = request.POST.get("rating", "")
        if rating not in {str(r) for r in csat.RATINGS}:
            return HttpResponse(status=400)
        thanked = csat.rate_via_link(survey=survey, rating=int(rating))
        survey.refresh_from_db(fields=["rating"])
    return render(request, "engagement/inbox/csat.html", {
        "survey": survey, "brand_name": request.tenant.name, "ratings": csat.RATINGS, "expired": expired,
        "thanked": thanked,
    })
