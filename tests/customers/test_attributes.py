"""The brand's attribute schema (Admin) and typed values on the profile (Admin, Marketer)."""

import pytest
from django.core.exceptions import ValidationError

from customers import attributes
from customers.models import AttributeDefinition, Customer
from scrm.staff.models import AuditEntry
from tests.customers.factories import CustomerFactory


def definition(key: str, type: str, choices: list[str] | None = None) -> AttributeDefinition:  # noqa: A002
    return AttributeDefinition.objects.create(key=key, label=key.title(), type=type, choices=choices or [])


@pytest.mark.parametrize(("type_", "raw", "stored"), [
    ("text", "  likes tea  ", "likes tea"),
    ("text", "a\x00b", "ab"),
    ("number", "42", 42),
    ("number", "1,234.50", 1234.5),
    ("number", "-0.25", -0.25),
    ("date", "2024-02-29", "2024-02-29"),
    ("bool", "yes", True),
    ("bool", "false", False),
    ("bool", True, True),
    ("choice", "gold", "gold"),
    ("number", "", None),
])
def test_values_are_coerced_per_type(brand, type_, raw, stored):
    d = definition("field", type_, ["silver", "gold"])
    assert attributes.coerce_value(d, raw) == stored


@pytest.mark.parametrize(("type_", "raw"), [
    ("text", "x" * 1001),
    ("number", "twelve"),
    ("number", "NaN"),
    ("number", "1e400"),
    ("number", True),
    ("date", "2023-02-29"),
    ("date", "tomorrow"),
    ("bool", "maybe"),
    ("choice", "platinum"),
])
def test_invalid_values_are_refused_with_a_reason(brand, type_, raw):
    d = definition("field", type_, ["silver", "gold"])
    with pytest.raises(ValidationError) as error:
        attributes.coerce_value(d, raw)
    assert error.value.messages[0]


def test_an_admin_adds_renames_rechoices_and_soft_deletes_an_attribute(staff_client):
    client, _admin = staff_client("Admin")
    # when the admin adds a choice attribute
    response = client.post("/customers/attributes/add/", {
        "key": "tier", "label": "Tier", "type": "choice", "choices": "silver\ngold\n\ngold"})
    assert response.status_code == 302
    tier = AttributeDefinition.objects.get(key="tier")
    assert tier.choices == ["silver", "gold"]
    # renames it and changes the choices
    client.post(f"/customers/attributes/{tier.pk}/", {"key": "tier", "label": "Member tier", "type": "choice",
                                                       "choices": "silver\ngold\nplatinum"})
    tier.refresh_from_db()
    assert (tier.label, tier.choices) == ("Member tier", ["silver", "gold", "platinum"])
    # and deletes it: gone from the editor, still listed (restorable) on the schema page
    client.post(f"/customers/attributes/{tier.pk}/delete/")
    tier.refresh_from_db()
    assert tier.deleted_at is not None
    assert tier not in attributes.active_definitions()
    assert "Member tier" in client.get("/customers/attributes/").content.decode()
    client.post(f"/customers/attributes/{tier.pk}/delete/", {"restore": "1"})
    tier.refresh_from_db()
    assert tier.deleted_at is None
    actions = set(AuditEntry.objects.filter(object_id=str(tier.pk)).values_list("action", flat=True))
    assert {"customers.attribute_created", "customers.attribute_changed", "customers.attribute_deleted",
            "customers.attribute_restored"} <= actions


def test_a_bad_definition_shows_errors_and_saves_nothing(staff_client):
    client, _admin = staff_client("Admin")
    response = client.post("/customers/attributes/add/", {"key": "Bad Key!", "label": "X", "type": "text"})
    assert response.status_code == 400
    assert "lowercase letters" in response.content.decode()
    response = client.post("/customers/attributes/add/", {"key": "tier", "label": "Tier", "type": "choice", "choices": ""})
    assert "at least one choice" in response.content.decode()
    assert not AttributeDefinition.objects.exists()


def test_the_key_and_type_are_fixed_once_a_customer_has_a_value(staff_client):
    client, _admin = staff_client("Admin")
    size = definition("size", "text")
    client.post(f"/customers/attributes/{size.pk}/", {"key": "shoe_size", "label": "Shoe size", "type": "number"})
    size.refresh_from_db()
    assert (size.key, size.type) == ("shoe_size", "number")  # unused: free to change
    CustomerFactory(attributes={"shoe_size": 42})
    response = client.post(f"/customers/attributes/{size.pk}/", {"key": "size", "label": "Size", "type": "text"})
    assert response.status_code == 400
    assert "can no longer change" in response.content.decode()
    size.refresh_from_db()
    assert (size.key, size.type, size.label) == ("shoe_size", "number", "Shoe size")


def test_only_admins_edit_the_schema(staff_client):
    for role in ("Marketer", "Agent"):
        client, _user = staff_client(role)
        assert client.get("/customers/attributes/").status_code == 403
        assert client.post("/customers/attributes/add/", {"key": "x", "label": "X", "type": "text"}).status_code == 403
    assert not AttributeDefinition.objects.exists()


def test_a_marketer_edits_attributes_with_inline_errors_and_an_audited_change(staff_client):
    client, marketer = staff_client("Marketer")
    definition("points", "number")
    definition("birthday_club", "bool")
    definition("tier", "choice", ["silver", "gold"])
    customer = CustomerFactory(attributes={"tier": "silver", "legacy": "kept"})
    url = f"/customers/{customer.pk}/attributes/save/"
    # when the marketer types a word into a number field
    response = client.post(url, {"points": "lots", "birthday_club": "true", "tier": "gold"}, HTTP_HX_REQUEST="true")
    # then the editor comes back with the error beside the field, and nothing is saved
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="attribute-error"' in body and "Enter a number." in body
    customer.refresh_from_db()
    assert customer.attributes == {"tier": "silver", "legacy": "kept"}
    # when the values are valid they are stored typed; a value left blank is removed
    response = client.post(url, {"points": "120", "birthday_club": "true", "tier": ""}, HTTP_HX_REQUEST="true")
    assert "Saved." in response.content.decode()
    customer.refresh_from_db()
    assert customer.attributes == {"points": 120, "birthday_club": True, "legacy": "kept"}
    entry = AuditEntry.objects.get(action="customers.attributes_changed", object_id=str(customer.pk))
    assert entry.actor == marketer
    assert entry.changes == {"points": [None, 120], "birthday_club": [None, True], "tier": ["silver", None]}


def test_an_agent_reads_attributes_but_cannot_change_them(staff_client):
    client, _agent = staff_client("Agent")
    definition("points", "number")
    customer = CustomerFactory(attributes={"points": 7})
    panel = client.get(f"/customers/{customer.pk}/attributes/", HTTP_HX_REQUEST="true").content.decode()
    assert "Points" in panel and "7" in panel and "<form" not in panel
    assert client.post(f"/customers/{customer.pk}/attributes/save/", {"points": "9"}).status_code == 403
    assert Customer.objects.get(pk=customer.pk).attributes == {"points": 7}


def test_the_profile_page_loads_the_attribute_and_consent_panels(staff_client):
    client, _admin = staff_client("Admin")
    customer = CustomerFactory()
    body = client.get(f"/customers/{customer.pk}/").content.decode()
    assert f"/customers/{customer.pk}/attributes/" in body
    assert f"/customers/{customer.pk}/consents/" in body
    assert f"/customers/{customer.pk}/export/" in body  # admins see the data-request actions
    marketer, _user = staff_client("Marketer")
    assert f"/customers/{customer.pk}/export/" not in marketer.get(f"/customers/{customer.pk}/").content.decode()


def test_editing_attributes_of_another_brands_customer_is_a_404(staff_client, other_brand):
    from django_tenants.utils import tenant_context

    client, _admin = staff_client("Admin")
    with tenant_context(other_brand):  # ids that exist only in beta
        beta = Customer.objects.create(pk=990_001, display_name="beta", attributes={"x": 1})
        beta_def = AttributeDefinition.objects.create(pk=990_002, key="beta_only", label="Beta")
    assert client.get(f"/customers/{beta.pk}/attributes/").status_code == 404
    assert client.post(f"/customers/{beta.pk}/attributes/save/", {"x": "2"}).status_code == 404
    assert client.post(f"/customers/attributes/{beta_def.pk}/", {"label": "mine"}).status_code == 404
    assert client.post(f"/customers/attributes/{beta_def.pk}/delete/").status_code == 404
    with tenant_context(other_brand):
        assert Customer.objects.get(pk=beta.pk).attributes == {"x": 1}
        assert AttributeDefinition.objects.get(pk=beta_def.pk).deleted_at is None
