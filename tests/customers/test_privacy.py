"""Data-subject requests: an export holds every table about the person; an erasure leaves
no personal string anywhere in the brand's schema but keeps the anonymous figures."""

import io
import json
import zipfile
from decimal import Decimal

from django.apps import apps
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from channels.models import Connector, OutboundMessage
from customers import attributes, consent, privacy
from customers.models import (
    AttributeDefinition,
    Consent,
    Customer,
    CustomerTag,
    DataRequest,
    Identity,
    Interaction,
    Merge,
    MergeSuggestion,
    Note,
    Order,
)
from customers.notes import add_note
from customers.services import refresh_customer_aggregates
from scrm.staff.models import AuditEntry
from tests.conftest import make_staff, wait_until
from tests.customers.factories import (
    NOW,
    CustomerFactory,
    IdentityFactory,
    InteractionFactory,
    OrderFactory,
    TagFactory,
)

NAME, EMAIL, PHONE = "Zhangsan Qiwen", "qiwen.zhang@example.org", "+8613900001111"
OLD_NAME = "Qiwen Old-Profile"


def a_person(actor=None) -> Customer:  # noqa: ANN001
    """A customer with something in every table that can hold data about them."""
    person = CustomerFactory(display_name=NAME, city="Hangzhou", birthday=NOW.date(), avatar_url="https://cdn.example/q.png")
    old = CustomerFactory(display_name=OLD_NAME, merged_into=person)
    IdentityFactory(customer=person, kind="email", value=EMAIL, verified=True)
    IdentityFactory(customer=person, kind="phone", value=PHONE)
    IdentityFactory(customer=old, kind="wechat_openid", scope="wx1", value="o-qiwen")
    AttributeDefinition.objects.create(key="nickname", label="Nickname", type="text")
    attributes.set_customer_attributes(customer=person, values={"nickname": f"{NAME} jr"}, actor=actor)
    consent.record_consent(customer=person, channel="email", purpose="marketing", status="granted",
                           source="signup", evidence={"form": "signup/v2", "email": EMAIL, "ip": "198.51.100.7"})
    consent.record_consent(customer=person, channel="all", purpose="marketing", status="withdrawn",
                           source="staff", evidence={"note": f"{NAME} called, {PHONE}"})
    first = InteractionFactory(customer=person, text=f"Hi, I am {NAME}, mail me at {EMAIL}",
                               metadata={"from": EMAIL, "nick": NAME}, external_id="m-1")
    InteractionFactory(customer=old, text="old message", metadata={"phone": PHONE}, external_id="m-2")
    OrderFactory(customer=person, amount=Decimal("120.00"), external_id="SO-QIWEN-1",
                 items=[{"sku": "TEA-1", "qty": 2, "price": "60.00", "engraving": NAME}])
    OrderFactory(customer=old, amount=Decimal("80.50"), external_id="SO-QIWEN-2", items=[{"sku": "CUP", "qty": 1}])
    CustomerTag.objects.create(customer=person, tag=TagFactory(name="vip"))
    add_note(customer=person, body=f"{NAME} prefers phone {PHONE}", author=actor)
    Merge.objects.create(survivor=person, merged=old, rule="manual", reason=f"same person {NAME}",
                         attributes={"merged": {"display_name": OLD_NAME, "email": EMAIL}})
    MergeSuggestion.objects.create(customer_a=person, customer_b=CustomerFactory(display_name="Other Q"),
                                   score=0.8, reasons=[f"similar name {NAME}"])
    DataRequest.objects.create(customer=person, subject_label=f"#{person.pk}", kind="export", status="failed",
                               reason="an earlier request")
    OutboundMessage.objects.create(connector=Connector.objects.create(kind="wechat_oa", name="OA"), customer=person,
                                   recipient="o-qiwen", payload={"text": f"Dear {NAME}"}, next_attempt_at=NOW)
    _inbox_rows(person, first)
    refresh_customer_aggregates(customer_ids=[person.pk, old.pk])
    # segments: a membership with its "entered" event, and scores
    from segments.scores import compute_scores
    from segments.services import create_segment

    create_segment(name="Hangzhou", rule={"all": [{"field": "city", "op": "eq", "value": "Hangzhou"}]})
    compute_scores(now=NOW)
    return person


def _inbox_rows(person: Customer, interaction) -> None:  # noqa: ANN001
    """A conversation with a message, and a listening mention (engagement.inbox)."""
    from channels.models import Connector
    from engagement.inbox.models import Conversation, Mention, Message, Monitor

    connector = Connector.objects.create(kind="wechat_oa", name="privacy wechat")
    conversation = Conversation.objects.create(customer=person, connector=connector, channel="wechat",
                                               recipient="o-qiwen", last_message_preview=f"I am {NAME}")
    Message.objects.create(conversation=conversation, direction="in", text=f"I am {NAME}, {EMAIL}", created_at=NOW)
    Mention.objects.create(monitor=Monitor.objects.create(name="tea", query="tea"), interaction=interaction,
                           customer=person, channel="x", author=NAME, text=f"{NAME} loves tea", occurred_at=NOW)


def personal_strings_in_schema(*needles: str) -> list[tuple[str, str, str]]:
    """(table, column, needle) for every text, varchar or json column of every table in the
    current brand schema that contains one of `needles` (case-insensitive)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT table_name, column_name FROM information_schema.columns
                WHERE table_schema = current_schema()
                  AND data_type IN ('text', 'character varying', 'jsonb', 'json')"""
        )
        columns = cursor.fetchall()
        found = []
        for table, column in columns:
            for needle in needles:
                cursor.execute(
                    f'SELECT 1 FROM "{table}" WHERE "{column}"::text ILIKE %s LIMIT 1', [f"%{needle}%"]
                )
                if cursor.fetchone():
                    found.append((table, column, needle))
    return found


def test_every_model_with_a_customer_foreign_key_is_registered():
    registered = {table.model for table in privacy.customer_tables()}
    missing = [
        model._meta.label
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if field.is_relation and field.many_to_one and field.related_model is Customer and model not in registered
    ]
    assert not missing, f"register these with customers.privacy.register_customer_table: {missing}"


def test_an_export_holds_each_tables_rows_as_json_and_csv(brand):
    person = a_person(actor=make_staff("Admin"))
    buffer = io.BytesIO()
    counts = privacy.write_export(person, buffer)
    archive = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    for table in privacy.customer_tables():
        rows = json.loads(archive.read(f"{table.name}.json"))
        csv_lines = archive.read(f"{table.name}.csv").decode().splitlines()
        expected = table.queryset(privacy.subject_ids(person)).count()
        assert expected > 0, table.name  # the fixture put something in every table
        assert len(rows) == counts[table.name] == expected, table.name
        assert len(csv_lines) >= expected + 1, table.name  # header + rows (text may span lines)
    profiles = {row["display_name"] for row in json.loads(archive.read("profile.json"))}
    assert profiles == {NAME, OLD_NAME}  # the person includes the profile merged into them
    assert {row["value"] for row in json.loads(archive.read("identities.json"))} == {EMAIL, PHONE, "o-qiwen"}
    consents = json.loads(archive.read("consents.json"))
    assert [c["status"] for c in sorted(consents, key=lambda c: c["id"])] == ["granted", "withdrawn"]
    assert json.loads(archive.read("manifest.json"))["tables"] == counts


def test_erasure_leaves_no_personal_string_in_the_brand_schema_and_keeps_the_figures(brand):
    person = a_person(actor=make_staff("Admin"))
    old = Customer.objects.get(merged_into=person)
    assert personal_strings_in_schema(NAME)  # the search works: the name is there before
    revenue_before = Order.objects.filter(customer__in=[person, old]).values_list("amount", flat=True)
    total_before = sum(revenue_before)
    consents_before = Consent.objects.filter(customer=person).count()
    interactions_before = Interaction.objects.filter(customer__in=[person, old]).count()
    # when the person is erased
    counts = privacy.erase_customer(customer=person)
    # then no column of any table holds their name, email, phone or order numbers
    assert personal_strings_in_schema(NAME, OLD_NAME, EMAIL, PHONE, "qiwen", "13900001111", "SO-QIWEN") == []
    assert counts["identities"] == 3
    # and the anonymous figures stay: orders and their total, consent history, interactions
    person.refresh_from_db()
    assert person.erased_at is not None and person.display_name == "" and person.attributes == {}
    assert sum(Order.objects.filter(customer__in=[person, old]).values_list("amount", flat=True)) == total_before
    assert person.revenue == Decimal("120.00") and person.order_count == 1
    assert Order.objects.get(customer=person).items == [{"sku": "TEA-1", "qty": 2, "price": "60.00"}]
    assert Consent.objects.filter(customer=person).count() == consents_before
    assert [c.evidence for c in Consent.objects.filter(customer=person).order_by("id")] == [
        {"form": "signup/v2", "erased": True}, {"erased": True}]
    assert Interaction.objects.filter(customer__in=[person, old]).count() == interactions_before
    assert not Identity.objects.filter(customer__in=[person, old]).exists()
    assert not Note.objects.filter(customer=person).exists()
    assert not CustomerTag.objects.filter(customer=person).exists()


def test_a_returning_person_is_not_relinked_to_the_erased_profile(brand):
    person = a_person()
    privacy.erase_customer(customer=person)
    # the same email arrives again: it is free, and nothing points it at the erased row
    newcomer = IdentityFactory(kind="email", value=EMAIL).customer
    assert newcomer.pk != person.pk
    assert Identity.objects.filter(value=EMAIL).values_list("customer_id", flat=True).get() == newcomer.pk


def test_erasure_needs_an_admin_the_typed_id_and_a_reason(staff_client):
    customer = CustomerFactory(display_name=NAME)
    marketer, _user = staff_client("Marketer")
    assert marketer.get(f"/customers/{customer.pk}/erase/").status_code == 403
    assert marketer.post(f"/customers/{customer.pk}/export/").status_code == 403
    client, _admin = staff_client("Admin")
    assert client.get(f"/customers/{customer.pk}/erase/").status_code == 200
    # a wrong id: refused beside the field, nothing queued
    response = client.post(f"/customers/{customer.pk}/erase/", {"confirmation": str(customer.pk + 1), "reason": "ticket 7"})
    assert response.status_code == 400
    assert f"Type the customer&#x27;s ID, {customer.pk}" in response.content.decode()
    response = client.post(f"/customers/{customer.pk}/erase/", {"confirmation": str(customer.pk), "reason": ""})
    assert response.status_code == 400
    assert not DataRequest.objects.exists()
    # the right id and a reason: queued and audited with who and why
    response = client.post(f"/customers/{customer.pk}/erase/", {"confirmation": f" {customer.pk} ", "reason": "ticket 7"})
    assert response.status_code == 302
    data_request = DataRequest.objects.get()
    assert (data_request.kind, data_request.status, data_request.reason) == ("erase", "queued", "ticket 7")
    assert NAME not in data_request.subject_label
    entry = AuditEntry.objects.get(action="customers.erasure_requested")
    assert entry.changes["reason"] == [None, "ticket 7"] and entry.actor_name == _admin.username


def test_the_request_list_shows_requests_polls_while_running_and_has_an_empty_state(staff_client):
    client, admin = staff_client("Admin")
    body = client.get("/customers/privacy/").content.decode()
    assert 'data-testid="empty-state"' in body and "every 2s" not in body
    customer = CustomerFactory()
    DataRequest.objects.create(customer=customer, subject_label=f"#{customer.pk}", kind="export", requested_by=admin)
    body = client.get("/customers/privacy/").content.decode()
    assert 'data-testid="data-request"' in body and "every 2s" in body and admin.username in body
    partial = client.get("/customers/privacy/", HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<div id="request-table"')
    for role in ("Marketer", "Agent"):
        other, _user = staff_client(role)
        assert other.get("/customers/privacy/").status_code == 403


def test_a_download_is_only_for_admins_and_only_in_its_own_brand(staff_client, other_brand):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    client, admin = staff_client("Admin")
    customer = CustomerFactory()
    name = default_storage.save("data-requests/test/alpha.zip", ContentFile(b"PK-alpha"))
    done = DataRequest.objects.create(customer=customer, subject_label="#1", kind="export", status="done", file=name)
    try:
        response = client.get(f"/customers/privacy/{done.pk}/download/")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == b"PK-alpha"
        assert "attachment" in response["Content-Disposition"]
        marketer, _user = staff_client("Marketer")
        assert marketer.get(f"/customers/privacy/{done.pk}/download/").status_code == 403
        # another brand's finished export, with a file of its own: a 404 from alpha
        with tenant_context(other_brand):
            beta_name = default_storage.save("data-requests/test/beta.zip", ContentFile(b"PK-beta"))
            beta = DataRequest.objects.create(pk=990_101, subject_label="#9", kind="export", status="done", file=beta_name)
        assert client.get(f"/customers/privacy/{beta.pk}/download/").status_code == 404
        with tenant_context(other_brand):
            default_storage.delete(beta_name)
    finally:
        default_storage.delete(name)


def test_export_then_erase_through_a_real_worker(celery_worker, committed_brand):
    # given an admin of a brand and a person with data
    with tenant_context(committed_brand):
        admin = make_staff("Admin")
        person = a_person(actor=admin)
        client = Client(HTTP_HOST=committed_brand.primary_host())
        client.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
        # when the admin asks for an export from the profile
        assert client.post(f"/customers/{person.pk}/export/", {"reason": "ticket 99"}).status_code == 302
        export = wait_until(lambda: DataRequest.objects.filter(reason="ticket 99", status__in=["done", "failed"]).first())
        assert export.status == "done", export.error
        # then the list offers it and the download is the zip with the person's data
        assert f"/customers/privacy/{export.pk}/download/" in client.get("/customers/privacy/").content.decode()
        response = client.get(f"/customers/privacy/{export.pk}/download/")
        archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
        assert NAME in archive.read("profile.json").decode()
        assert AuditEntry.objects.filter(action="customers.exported", object_id=str(export.pk)).exists()
        # when the admin erases the person
        client.post(f"/customers/{person.pk}/erase/", {"confirmation": str(person.pk), "reason": "ticket 100"})
        erase = wait_until(lambda: DataRequest.objects.filter(reason="ticket 100", status__in=["done", "failed"]).first())
        assert erase.status == "done", erase.error
        # then the profile is gone from the pages, the earlier export file is deleted too
        assert client.get(f"/customers/{person.pk}/").status_code == 404
        export.refresh_from_db()
        assert not export.file
        assert personal_strings_in_schema(NAME, EMAIL, PHONE) == []
        assert AuditEntry.objects.filter(action="customers.erased", object_id=str(erase.pk)).exists()
