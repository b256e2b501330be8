"""Log-in, log-out, password change and reset, throttling, CSRF, cookie flags."""

import re

from django.contrib.auth.models import User
from django.core import mail
from django.test import Client, override_settings

from tests.conftest import PASSWORD, make_staff


def _client(brand, **kwargs) -> Client:  # noqa: ANN001
    return Client(HTTP_HOST=brand.primary_host(), **kwargs)


def test_staff_log_in_and_out(brand):
    make_staff("Marketer", username="mia")
    client = _client(brand)
    response = client.post("/login/", {"username": "mia", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    client.post("/logout/")
    assert client.get("/").status_code == 302


def test_repeated_failures_lock_the_login(brand):
    make_staff("Agent", username="ann")
    client = _client(brand)
    for _ in range(5):
        client.post("/login/", {"username": "ann", "password": "wrong"}, REMOTE_ADDR="10.1.1.1")
    # even the right password is refused now, with a clear page
    response = client.post("/login/", {"username": "ann", "password": PASSWORD}, REMOTE_ADDR="10.1.1.1")
    assert response.status_code == 429
    assert "Too many failed log-ins" in response.content.decode()


def test_posts_without_csrf_token_are_refused(brand):
    make_staff("Admin", username="ada")
    client = _client(brand, enforce_csrf_checks=True)
    assert client.post("/login/", {"username": "ada", "password": PASSWORD}).status_code == 403


def test_htmx_posts_pass_csrf_with_the_header(brand):
    user = make_staff("Admin", username="hx")
    target = make_staff("Agent", username="target")
    client = _client(brand, enforce_csrf_checks=True)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    page = client.get("/staff/").content.decode()
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    response = client.post(f"/staff/{target.pk}/role/", {"role": "Marketer"}, HTTP_X_CSRFTOKEN=token, HTTP_HX_REQUEST="true")
    assert response.status_code == 200


def test_password_change(brand):
    user = make_staff("Agent", username="pc")
    client = _client(brand)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post("/password/", {"old_password": PASSWORD, "new_password1": "An0ther-secret!", "new_password2": "An0ther-secret!"})
    assert response.status_code == 302
    assert User.objects.get(pk=user.pk).check_password("An0ther-secret!")


def test_password_reset_mail_links_to_the_brands_own_host(brand):
    make_staff("Agent", username="forgetful")
    User.objects.filter(username="forgetful").update(email="forgetful@example.com")
    client = _client(brand)
    client.post("/password/reset/", {"email": "forgetful@example.com"})
    body = mail.outbox[-1].body
    link = re.search(r"http://(\S+)/password/reset/(\S+)/(\S+)/", body)
    assert link and link.group(1) == brand.primary_host()
    response = client.get(link.group(0), follow=True)
    response = client.post(response.redirect_chain[-1][0], {"new_password1": "Fresh-secret-9", "new_password2": "Fresh-secret-9"})
    assert response.status_code == 302
    assert User.objects.get(username="forgetful").check_password("Fresh-secret-9")


@override_settings(SESSION_COOKIE_SECURE=True, CSRF_COOKIE_SECURE=True)
def test_cookies_are_secure_and_httponly_outside_debug(brand):
    make_staff("Agent", username="secure")
    client = _client(brand)
    client.post("/login/", {"username": "secure", "password": PASSWORD})
    cookie = client.cookies["sessionid"]
    assert cookie["secure"] and cookie["httponly"]
    assert cookie["samesite"] == "Lax"

