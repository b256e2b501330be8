"""Hostile text in names, notes, attributes and messages is stored as written (NUL bytes,
which PostgreSQL cannot store, are dropped) and always rendered escaped: never a 500."""

import pytest

from customers import attributes, consent
from customers.models import AttributeDefinition, Consent, Customer, Interaction, Note
from customers.notes import add_note
from customers.text import clean_json, clean_text
from tests.customers.factories import CustomerFactory, InteractionFactory

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
RTL = "\u202eevil\u202c"
ZERO_WIDTH = "a\u200bb\u200dc\ufeff"
EMOJI = "😀👩‍👩‍👧‍👦🇨🇳"
NUL = "nul\x00byte"
HUGE = "长" * 100_000
HOSTILE = [SCRIPT, RTL, ZERO_WIDTH, EMOJI, NUL]


@pytest.mark.parametrize("text", HOSTILE)
def test_customer_names_render_escaped_on_the_list_and_the_profile(staff_client, text):
    client, _user = staff_client("Agent")
    name = clean_text(f"{text} {SCRIPT}", max_length=200)
    customer = CustomerFactory(display_name=name)
    customer.refresh_from_db()
    assert customer.display_name == name.replace("\x00", "")
    for path in ("/customers/", f"/customers/{customer.pk}/"):
        response = client.get(path)
        body = response.content.decode()
        assert response.status_code == 200
        assert SCRIPT not in body and ESCAPED in body
    if text in (RTL, EMOJI):
        assert text in client.get(f"/customers/{customer.pk}/").content.decode()  # kept as written


def test_a_note_with_nul_bytes_and_100k_characters_is_stored_not_a_crash(staff_client):
    client, user = staff_client("Agent")
    customer = CustomerFactory()
    # through the service (as imports and other code call it): NUL dropped, length kept
    note = add_note(customer=customer, body=f"{HUGE}{NUL}{SCRIPT}", author=user)
    note.refresh_from_db()
    assert note.body == f"{HUGE}nulbyte{SCRIPT}"
    # through the page: the form refuses what is too long with a message, not a 500
    response = client.post(f"/customers/{customer.pk}/notes/", {"body": HUGE}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and Note.objects.count() == 1
    # a NUL typed into the form is refused with a reason (Django's form validator)
    response = client.post(f"/customers/{customer.pk}/notes/", {"body": f"{SCRIPT}{NUL}"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Null characters are not allowed" in response.content.decode()
    response = client.post(f"/customers/{customer.pk}/notes/", {"body": f"{SCRIPT}{RTL}{EMOJI}"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and Note.objects.count() == 2
    body = client.get(f"/customers/{customer.pk}/").content.decode()
    assert SCRIPT not in body and ESCAPED in body


def test_hostile_attribute_values_are_stored_and_rendered_escaped(staff_client):
    client, marketer = staff_client("Marketer")
    AttributeDefinition.objects.create(key="motto", label=SCRIPT, type="text")
    AttributeDefinition.objects.create(key="tier", label="Tier", type="choice", choices=[SCRIPT, "gold"])
    customer = CustomerFactory()
    value = f"{SCRIPT}{NUL}{RTL}{ZERO_WIDTH}{EMOJI}"
    # through the editor page
    response = client.post(f"/customers/{customer.pk}/attributes/save/", {"motto": value, "tier": SCRIPT},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.attributes == {"motto": value.replace("\x00", ""), "tier": SCRIPT}
    agent, _user = staff_client("Agent")
    for c in (client, agent):
        panel = c.get(f"/customers/{customer.pk}/attributes/", HTTP_HX_REQUEST="true").content.decode()
        assert SCRIPT not in panel and ESCAPED in panel
    # 100k characters: refused beside the field; NUL in a key from code: dropped, not a crash
    response = client.post(f"/customers/{customer.pk}/attributes/save/", {"motto": HUGE}, HTTP_HX_REQUEST="true")
    assert "at most 1000" in response.content.decode()
    attributes.set_customer_attributes(customer=customer, values={"mot\x00to": "x\x00y"}, actor=marketer)
    customer.refresh_from_db()
    assert customer.attributes["motto"] == "xy"


def test_hostile_interaction_text_renders_escaped_on_the_timeline(staff_client):
    client, _user = staff_client("Agent")
    customer = CustomerFactory()
    InteractionFactory(customer=customer, text=clean_text(f"{SCRIPT}{NUL}{RTL}{EMOJI}{HUGE}"),
                       metadata=clean_json({"nick\x00": f"{SCRIPT}\x00", "list": [NUL]}))
    stored = Interaction.objects.get(customer=customer)
    assert "\x00" not in stored.text and stored.metadata == {"nick": SCRIPT, "list": ["nulbyte"]}
    body = client.get(f"/customers/{customer.pk}/").content.decode()
    assert SCRIPT not in body and ESCAPED in body


def test_consent_evidence_and_request_reasons_with_nul_bytes_are_stored(staff_client):
    client, _admin = staff_client("Admin")
    customer = CustomerFactory(display_name=SCRIPT)
    consent.record_consent(customer=customer, channel="email", purpose="marketing", status="granted",
                           source=f"web{NUL}", evidence={"note": f"{SCRIPT}{NUL}"})
    response = client.post(f"/customers/{customer.pk}/consents/record/", {
        "channel": "sms", "purpose": "marketing", "status": "withdrawn", "evidence": f"{SCRIPT}{NUL}{HUGE[:1500]}"},
        HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert Consent.objects.filter(customer=customer).count() == 2
    assert all("\x00" not in row.evidence["note"] and "\x00" not in row.source
               for row in Consent.objects.filter(customer=customer))
    panel = client.get(f"/customers/{customer.pk}/consents/", HTTP_HX_REQUEST="true").content.decode()
    assert SCRIPT not in panel and ESCAPED in panel
    response = client.post(f"/customers/{customer.pk}/erase/", {"confirmation": f"{customer.pk}\x00", "reason": f"{SCRIPT}{NUL}"})
    assert response.status_code == 302  # NUL dropped from the typed id, which then matches
    assert client.post(f"/customers/{customer.pk}/export/", {"reason": f"x{NUL}"}).status_code == 302
    body = client.get("/customers/privacy/").content.decode()
    assert SCRIPT not in body and ESCAPED in body


@pytest.mark.parametrize("params", [
    {"q": NUL}, {"q": SCRIPT}, {"q": HUGE}, {"city": NUL}, {"tag": f"{SCRIPT}{NUL}"}, {"page": NUL},
    {"sort": NUL},
])
def test_hostile_search_parameters_never_crash_the_list(staff_client, params):
    client, _user = staff_client("Agent")
    CustomerFactory(display_name="Someone")
    response = client.get("/customers/", params)
    assert response.status_code == 200
    assert SCRIPT not in response.content.decode()


@pytest.mark.parametrize("params", [{"before": NUL}, {"before": f"2025-01-01T00:00:00+00:00~i~{NUL}"}, {"kind": NUL}])
def test_hostile_timeline_parameters_never_crash_the_profile(staff_client, params):
    client, _user = staff_client("Agent")
    customer = CustomerFactory()
    assert client.get(f"/customers/{customer.pk}/timeline/", params).status_code == 200
    assert client.get(f"/customers/{customer.pk}/", params).status_code == 200


def test_a_preference_token_with_nul_bytes_is_a_404(brand):
    from django.test import Client

    customer = CustomerFactory()
    token = consent.preference_token(customer)
    client = Client(HTTP_HOST=brand.primary_host())
    assert client.get(f"/customers/preferences/{token}%00/").status_code == 404
    assert Customer.objects.filter(pk=customer.pk).exists()
