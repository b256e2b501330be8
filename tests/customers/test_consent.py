"""Consent is a history: appended, never rewritten; the latest row for a channel or for
"all channels" wins; staff record changes with evidence; customers use a signed link."""

from datetime import timedelta

import pytest
from django.db import DatabaseError, transaction
from django.test import Client

from customers import consent
from customers.models import Consent, Customer
from scrm.staff.models import AuditEntry
from tests.customers.factories import NOW, ConsentFactory, CustomerFactory, IdentityFactory

MARKETING = Consent.Purpose.MARKETING


def record(customer, channel, status, at, purpose=MARKETING):  # noqa: ANN001, ANN201
    return consent.record_consent(
        customer=customer, channel=channel, purpose=purpose, status=status, source="test",
        evidence={"form": "signup/v2"}, at=at,
    )


def test_history_keeps_every_change_and_the_latest_wins(brand):
    # given a customer who opted in, out, and in again by email
    mei = CustomerFactory()
    record(mei, "email", "granted", NOW - timedelta(days=3))
    record(mei, "email", "withdrawn", NOW - timedelta(days=2))
    record(mei, "email", "granted", NOW - timedelta(days=1))
    # then all three rows are kept, newest first, and the current status is the last one
    assert [c.status for c in consent.consent_history(mei)] == ["granted", "withdrawn", "granted"]
    assert consent.current_statuses(mei, purpose=MARKETING)["email"] == "granted"
    assert consent.current_statuses(mei, purpose=MARKETING)["sms"] is None


def test_all_channels_applies_to_every_channel_until_a_later_row_overrides_it(brand):
    lin = CustomerFactory()
    record(lin, "email", "granted", NOW - timedelta(days=3))
    record(lin, "all", "withdrawn", NOW - timedelta(days=2))
    assert consent.current_statuses(lin, purpose=MARKETING)["email"] == "withdrawn"
    assert consent.current_statuses(lin, purpose=MARKETING)["wechat"] == "withdrawn"
    # a later grant on one channel overrides "all" for that channel only
    record(lin, "sms", "granted", NOW - timedelta(days=1))
    statuses = consent.current_statuses(lin, purpose=MARKETING)
    assert (statuses["sms"], statuses["email"]) == ("granted", "withdrawn")
    # other purposes are separate
    assert consent.current_statuses(lin, purpose=Consent.Purpose.SERVICE)["sms"] is None


def test_current_consent_filters_and_annotates_customers_set_wise(brand):
    opted_in, opted_out, all_out, never = (CustomerFactory() for _ in range(4))
    record(opted_in, "email", "granted", NOW)
    record(opted_out, "email", "granted", NOW - timedelta(days=1))
    record(opted_out, "email", "withdrawn", NOW)
    record(all_out, "email", "granted", NOW - timedelta(days=1))
    record(all_out, "all", "withdrawn", NOW)
    customers = Customer.objects.filter(pk__in=[c.pk for c in (opted_in, opted_out, all_out, never)])
    # when a campaign filters on email marketing consent
    granted = customers.filter(consent.consent_granted("email", MARKETING))
    assert list(granted) == [opted_in]
    annotated = dict(consent.with_current_consent(customers, channel="email", purpose=MARKETING)
                     .values_list("pk", "consent_status"))
    assert annotated == {opted_in.pk: "granted", opted_out.pk: "withdrawn", all_out.pk: "withdrawn", never.pk: None}


def test_consent_rows_are_never_updated_or_deleted(brand):
    row = ConsentFactory()
    # when code tries to rewrite or delete the history, the database refuses
    for change in (
        lambda: Consent.objects.filter(pk=row.pk).update(status="withdrawn"),
        lambda: Consent.objects.filter(pk=row.pk).update(evidence={"forged": True}),
        lambda: Consent.objects.filter(pk=row.pk).delete(),
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            change()
    row.refresh_from_db()
    assert row.status == "granted"
    # but a merge may move the row to the surviving profile
    survivor = CustomerFactory()
    assert Consent.objects.filter(pk=row.pk).update(customer=survivor) == 1


def test_an_admin_records_a_consent_change_with_evidence(staff_client):
    client, admin = staff_client("Admin")
    customer = CustomerFactory()
    # when the admin records a withdrawal told on the phone
    response = client.post(
        f"/customers/{customer.pk}/consents/record/",
        {"channel": "sms", "purpose": "marketing", "status": "withdrawn", "evidence": "Call 2025-06-01, ticket 42"},
        HTTP_HX_REQUEST="true",
    )
    # then the panel comes back with the new row, evidence says who and why, it is audited
    assert response.status_code == 200
    assert "ticket 42" in response.content.decode()
    row = Consent.objects.get(customer=customer)
    assert (row.status, row.source, row.evidence["recorded_by"]) == ("withdrawn", "staff", admin.username)
    assert AuditEntry.objects.filter(action="customers.consent_recorded", object_id=str(customer.pk)).exists()


def test_only_admins_record_consent_but_everyone_reads_the_history(staff_client):
    customer = CustomerFactory()
    ConsentFactory(customer=customer, evidence={"form": "shop-signup"})
    for role in ("Marketer", "Agent"):
        client, _user = staff_client(role)
        response = client.post(f"/customers/{customer.pk}/consents/record/",
                               {"channel": "sms", "purpose": "marketing", "status": "granted", "evidence": "x"})
        assert response.status_code == 403
        panel = client.get(f"/customers/{customer.pk}/consents/", HTTP_HX_REQUEST="true").content.decode()
        assert "shop-signup" in panel
        assert "preference-link" not in panel
    assert Consent.objects.filter(customer=customer).count() == 1


def test_the_preference_center_records_the_customers_choices_without_a_login(brand):
    # given a customer reachable by email and WeChat who had granted email marketing
    customer = IdentityFactory(kind="email").customer
    IdentityFactory(customer=customer, kind="wechat_openid", scope="wx1", value="o-1")
    record(customer, "email", "granted", NOW)
    token = consent.preference_token(customer)
    client = Client(HTTP_HOST=brand.primary_host())
    page = client.get(f"/customers/preferences/{token}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-testid="pref-email"' in body and 'data-testid="pref-wechat"' in body
    assert 'data-testid="pref-sms"' not in body  # no phone, no SMS choice
    # when they withdraw email and grant WeChat
    response = client.post(f"/customers/preferences/{token}/", {"channel-wechat": "on"}, REMOTE_ADDR="203.0.113.9")
    # then both changes are appended with the preference center as source and evidence
    assert response.status_code == 200
    statuses = consent.current_statuses(customer, purpose=MARKETING)
    assert (statuses["email"], statuses["wechat"]) == ("withdrawn", "granted")
    rows = Consent.objects.filter(customer=customer, source="preference_center")
    assert rows.count() == 2
    assert {r.evidence["ip"] for r in rows} == {"203.0.113.9"}
    # saving the same choices again records nothing new
    client.post(f"/customers/preferences/{token}/", {"channel-wechat": "on"})
    assert rows.count() == 2


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
    lambda t: t.replace(":", "x", 1),
    lambda t: "garbage",
    lambda t: t + "%00",
])
def test_a_tampered_token_is_a_404(brand, mangle):
    customer = CustomerFactory()
    token = consent.preference_token(customer)
    client = Client(HTTP_HOST=brand.primary_host())
    assert client.get(f"/customers/preferences/{mangle(token)}/").status_code == 404
    assert client.post(f"/customers/preferences/{mangle(token)}/", {"channel-email": "on"}).status_code == 404
    assert not Consent.objects.filter(customer=customer).exists()


def test_another_brands_token_and_an_erased_customers_token_are_404(brand, other_brand):
    from django_tenants.utils import tenant_context

    with tenant_context(other_brand):
        beta_token = consent.preference_token(Customer.objects.create(display_name="beta person"))
    erased = CustomerFactory(erased_at=NOW)
    client = Client(HTTP_HOST=brand.primary_host())
    assert client.get(f"/customers/preferences/{beta_token}/").status_code == 404
    assert client.get(f"/customers/preferences/{consent.preference_token(erased)}/").status_code == 404


def test_a_merged_customers_link_opens_the_survivors_preferences(brand):
    survivor = CustomerFactory()
    merged = CustomerFactory(merged_into=survivor)
    client = Client(HTTP_HOST=brand.primary_host())
    client.post(f"/customers/preferences/{consent.preference_token(merged)}/", {"channel-email": "on"})
    assert consent.current_statuses(survivor, purpose=MARKETING)["email"] == "granted"
