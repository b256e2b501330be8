import pytest
from django.test import Client

from scrm import tenancy


@pytest.fixture
def public_client(brands) -> Client:  # noqa: ANN001
    return Client(HTTP_HOST="localhost")


@pytest.mark.parametrize(
    ("slug", "reason"),
    [
        ("public", "reserved"),
        ("www", "reserved"),
        ("admin", "reserved"),
        ("api", "reserved"),
        ("static", "reserved"),
        ("ab", "3 to 40"),
        ("Has-Caps", "3 to 40"),
        ("under_score", "3 to 40"),
        ("x" * 41, "at most 40"),
        ("-leading", "hyphen"),
        ("<script>", "3 to 40"),
        ("alpha", "already taken"),
    ],
)
def test_signup_rejects_reserved_malformed_and_taken_slugs(db, public_client, slug, reason):
    # given a sign-up with a bad address
    data = {"brand_name": "X", "slug": slug, "username": "boss", "email": "b@x.com", "password": "Str0ng-pass!"}
    # when it is posted
    response = public_client.post("/", data)
    # then the form comes back with a clear message and no brand is made
    assert response.status_code == 200
    assert reason in response.content.decode()
    assert not tenancy.Brand.objects.filter(slug=slug, name="X").exists()


def test_signup_page_escapes_hostile_input(db, public_client):
    response = public_client.post("/", {"brand_name": "<script>alert(1)</script>", "slug": "<b>x</b>", "username": "a", "email": "bad", "password": "x"})
    body = response.content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_signup_provisions_schema_domain_and_first_admin(db, public_client):
    # given a valid sign-up
    data = {"brand_name": "Tea House", "slug": "tea-house", "username": "boss", "email": "boss@tea.example", "password": "Str0ng-pass!"}
    # when it is posted
    response = public_client.post("/", data)
    # then the brand exists at its own host with its first Admin
    assert response.status_code == 200
    assert "http://tea-house.localhost/login/" in response.content.decode()
    brand = tenancy.Brand.objects.get(slug="tea-house")
    assert brand.schema_name == "b_tea_house"
    assert brand.primary_host() == "tea-house.localhost"
    from django.contrib.auth.models import User
    from django_tenants.utils import tenant_context

    with tenant_context(brand):
        boss = User.objects.get(username="boss")
        assert list(boss.groups.values_list("name", flat=True)) == ["Admin"]
        assert boss.check_password("Str0ng-pass!")


def test_a_refused_signup_puts_autofocus_on_the_first_field_in_error(db):
    from scrm.forms import SignupForm

    # given a fresh form, the brand name is where typing starts
    assert SignupForm().fields["brand_name"].widget.attrs.get("autofocus")
    # when only the password is wrong
    form = SignupForm({"brand_name": "Tea", "slug": "tea-house", "username": "boss", "email": "b@x.com", "password": "x"})
    assert not form.is_valid()
    # then only the password field carries autofocus (HTMX focuses it when the form settles)
    focused = [name for name, field in form.fields.items() if field.widget.attrs.get("autofocus")]
    assert focused == ["password"]
