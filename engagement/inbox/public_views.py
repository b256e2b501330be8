"""Hosted pages customers open without logging in: the satisfaction rating page, and the
images agents send (platforms such as Meta fetch them by URL).

The token is signed and names the brand's schema; forged, expired or another brand's
tokens are a 404. POSTs need the CSRF token of the page; each client address may try
RATE_LIMIT times a minute (Redis counter, brand-scoped like every cache key)."""

from __future__ import annotations

from django.core.cache import cache
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from engagement.inbox import csat, selectors
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


@public_view
@require_GET
def inbox_media(request: HttpRequest, token: str) -> HttpResponse:
    """An agent's image by its random token, from this brand's schema and media folder only
    (another brand's token is a 404 here). Served as the type its bytes were checked to be,
    never sniffed by the browser, and never as a page that could run script."""
    media = selectors.media_by_token(token)
    if media is None:
        raise Http404
    try:
        handle = media.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type=media.content_type)
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "public, max-age=604800, immutable"
    return response
