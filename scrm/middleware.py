"""One structured log line per request: method, path, status, duration, brand, user."""

import logging
import time
from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotFound

logger = logging.getLogger("scrm.request")


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        user = getattr(request, "user", None)
        logger.info(
            "request",
            extra={
                "method": request.method,
                "path": loggable_path(request),
                "status": response.status_code,
                "ms": round((time.perf_counter() - started) * 1000, 1),
                "user": user.get_username() if user is not None and user.is_authenticated else None,
            },
        )
        return response


def loggable_path(request: HttpRequest) -> str:
    """The path with secrets in it (webhook tokens, reset tokens) masked."""
    path = request.path
    match = getattr(request, "resolver_match", None)
    if match is not None:
        for name, value in match.kwargs.items():
            if "token" in name and isinstance(value, str) and value:
                path = path.replace(value, "…")
    return path



def machine_endpoint(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Marks a view called by machines, never by a browser (platform webhooks, the events
    API): `MachineEndpointMiddleware` calls it without the browser middleware."""
    view.machine_endpoint = True  # type: ignore[attr-defined]
    return view


class MachineEndpointMiddleware:
    """Platform webhooks and the events API skip the browser middleware below this one.

    A webhook carries no cookie, session, login, language or CSRF token (it is signed
    instead), yet every request paid for sessions, locale, CSRF, auth, messages,
    clickjacking, htmx and axes: about a fifth of the CPU of one accepted delivery. Under
    MACHINE_PATH_PREFIXES the path is resolved here; a view marked `machine_endpoint` is
    called directly, anything else goes down the full stack as before. Routing (the brand),
    the request log and SecurityMiddleware (nosniff) still run above this one; the
    X-Frame-Options header that the skipped clickjacking middleware would add is set here,
    on error pages too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        from django.conf import settings

        self.get_response = get_response
        self.prefixes = tuple(getattr(settings, "MACHINE_PATH_PREFIXES", ()))
        self.frame_options = getattr(settings, "X_FRAME_OPTIONS", "DENY").upper()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.prefixes and request.path_info.startswith(self.prefixes):
            from django.urls import Resolver404, get_resolver

            try:
                match = get_resolver(getattr(request, "urlconf", None)).resolve(request.path_info)
            except Resolver404:
                match = None
            if match is not None and getattr(match.func, "machine_endpoint", False):
                from django.core.handlers.exception import response_for_exception
                from django.db import connection

                request.resolver_match = match
                # No connection probe (CONN_HEALTH_CHECKS' SELECT 1) before the one INSERT: if
                # the kept connection died, the INSERT fails, the platform gets a 500 and
                # redelivers, and Django drops the connection as the request ends. One round
                # trip fewer per delivery.
                connection.health_check_done = True
                try:
                    response = match.func(request, *match.args, **match.kwargs)
                except Http404:
                    # A machine reads the status; the HTML 404 page (and the CSRF cookie its
                    # template sets) is for people.
                    response = HttpResponseNotFound(b"not found\n", content_type="text/plain")
                except Exception as error:
                    # As Django's handler does (a logged 500), but here, so that the error
                    # page gets the header below too.
                    response = response_for_exception(request, error)
                response.headers.setdefault("X-Frame-Options", self.frame_options)
                if not response.streaming and not response.has_header("Content-Length"):
                    # As CommonMiddleware would: a kept-alive client needs no chunking.
                    response.headers["Content-Length"] = str(len(response.content))
                return response
        return self.get_response(request)
