"""Platform pages: public sign-up, the brand home page, /healthz."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from scrm import charts, health, tenancy
from scrm.forms import SignupForm
from scrm.staff.roles import ALL_ROLES, public_view, role_of, roles_required


@public_view
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        provisioned = tenancy.provision_brand(
            name=data["brand_name"], slug=data["slug"], admin_username=data["username"],
            admin_email=data["email"], admin_password=data["password"],
        )
        port = request.get_port()
        host = provisioned.host + (f":{port}" if port not in ("80", "443") else "")
        login_url = f"{request.scheme}://{host}/login/"
        return render(request, "scrm/signup_done.html", {"brand": provisioned.brand, "login_url": login_url})
    template = "scrm/signup.html#signup-form" if request.htmx else "scrm/signup.html"
    return render(request, template, {"form": form, "base_domain": settings.SCRM_BASE_DOMAIN})


@roles_required(*ALL_ROLES)
def home(request: HttpRequest) -> HttpResponse:
    from customers.selectors import brand_summary

    summary = brand_summary()
    context = {
        "role": role_of(request.user),
        "health": health.check(),
        "summary": summary,
        "new_chart": charts.line_chart(summary.new_last_30_days),
        "mix_chart": charts.bar_chart(summary.channel_mix),
    }
    return render(request, "scrm/home.html", context)


@public_view
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    status = health.check()
    return JsonResponse(status, status=200 if status["db"] == "ok" and status["redis"] == "ok" else 503)
