"""Marketers build, preview, save, refresh, export and upload segments; read the dashboard
and tune scoring; agents are kept out; another brand's segments are never reachable."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django_tenants.utils import tenant_context

from customers.models import Customer
from scrm.staff.models import AuditEntry
from segments import services
from segments.models import CustomerScore, Segment
from segments.scores import compute_scores
from tests.customers.factories import NOW, CustomerFactory, OrderFactory

HOSTILE = "<script>alert(1)</script>"


def builder_post(**extra):  # noqa: ANN003, ANN201
    """A builder form: all of (city = Shanghai, any of (orders ≥ 1, tagged vip))."""
    data = {
        "r:node": "group", "r:match": "all",
        "r.1:node": "cond", "r.1:field": "city", "r.1:op": "eq", "r.1:value": "Shanghai",
        "r.2:node": "group", "r.2:match": "any",
        "r.2.1:node": "cond", "r.2.1:field": "orders_count", "r.2.1:op": "gte", "r.2.1:value": "1",
        "r.2.1:days": "0", "r.2.1:channel": "",
        "r.2.2:node": "cond", "r.2.2:field": "tags", "r.2.2:op": "has_any", "r.2.2:value": "vip",
    }
    data.update(extra)
    return data


@pytest.fixture
def shoppers(brand):  # noqa: ANN001, ANN201
    buyer = CustomerFactory(display_name="Buyer", city="Shanghai")
    OrderFactory(customer=buyer)
    CustomerFactory(display_name="Browser", city="Shanghai")
    CustomerFactory(display_name="Far buyer", city="Beijing")
    from customers.services import refresh_customer_aggregates

    refresh_customer_aggregates()
    return buyer


def test_agents_cannot_use_segments(staff_client):
    client, _user = staff_client("Agent")
    assert client.get("/segments/").status_code == 403
    assert client.get("/segments/dashboard/").status_code == 403


def test_empty_list_invites_a_first_segment(staff_client):
    client, _user = staff_client("Marketer")
    body = client.get("/segments/").content.decode()
    assert "No segments yet" in body
    assert 'href="/segments/new/"' in body


def test_live_preview_counts_and_samples_matching_customers(staff_client, shoppers):
    client, _user = staff_client("Marketer")
    response = client.post("/segments/preview/", builder_post(), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert 'data-testid="live-count">1<' in body
    assert "Buyer" in body and "Browser" not in body


def test_preview_explains_an_invalid_rule(staff_client, shoppers):
    client, _user = staff_client("Marketer")
    body = client.post("/segments/preview/", builder_post(**{"r.1:value": "", "r.2.1:value": "many"})).content.decode()
    assert "expects a number" in body
    assert "live-count" not in body


def test_builder_adds_and_removes_conditions_and_groups(staff_client, brand):
    client, _user = staff_client("Marketer")
    body = client.post("/segments/builder/", {**builder_post(), "action": "add-group:r.2"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'name="r.2.3:match"' in body  # a new nested group
    body = client.post("/segments/builder/", {**builder_post(), "action": "remove:r.2"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'name="r.2.1:field"' not in body and 'name="r.1:field"' in body
    # changing the field offers that field's operators only
    body = client.post("/segments/builder/", builder_post(**{"r.1:field": "last_seen_at"}), HTTP_HX_REQUEST="true").content.decode()
    assert 'value="in_last_days"' in body and 'value="contains"' not in body.split('name="r.1:op"')[1].split("</select>")[0]


def test_save_shows_members_and_audits(staff_client, shoppers):
    client, user = staff_client("Marketer")
    response = client.post("/segments/new/", {**builder_post(), "name": HOSTILE, "kind": "dynamic", "description": ""})
    segment = Segment.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/segments/{segment.pk}/"
    assert segment.rule["all"][1] == {"any": [
        {"field": "orders_count", "op": "gte", "days": 0, "channel": "", "value": 1},
        {"field": "tags", "op": "has_any", "value": "vip"},
    ]}
    body = client.get(f"/segments/{segment.pk}/").content.decode()
    assert "Buyer" in body and "Browser" not in body
    assert HOSTILE not in body and "&lt;script&gt;" in body
    assert AuditEntry.objects.filter(action="segment.create", actor=user).exists()
    list_body = client.get("/segments/").content.decode()
    assert 'data-testid="segment-size">1<' in list_body


def test_invalid_rule_is_not_saved(staff_client, shoppers):
    client, _user = staff_client("Marketer")
    response = client.post("/segments/new/", {**builder_post(**{"r.1:field": "nope"}), "name": "X", "kind": "dynamic"})
    assert response.status_code == 200
    assert "unknown field" in response.content.decode()
    assert not Segment.objects.exists()


def test_edit_round_trips_the_rule_into_the_builder(staff_client, shoppers):
    client, _user = staff_client("Admin")
    segment = services.create_segment(name="S", rule={"not": {"any": [{"field": "city", "op": "eq", "value": "Beijing"}]}})
    body = client.get(f"/segments/{segment.pk}/edit/").content.decode()
    assert '<option value="none" selected>' in body
    assert 'value="Beijing"' in body


def test_export_streams_csv(staff_client, shoppers):
    client, _user = staff_client("Marketer")
    segment = services.create_segment(name="S", rule={"all": [{"field": "city", "op": "eq", "value": "Shanghai"}]})
    response = client.get(f"/segments/{segment.pk}/export.csv")
    body = b"".join(response.streaming_content).decode()
    assert response["Content-Type"].startswith("text/csv")
    assert len(body.strip().splitlines()) == 3
    assert AuditEntry.objects.filter(action="segment.export").exists()


def test_upload_makes_a_static_segment(staff_client, shoppers):
    client, _user = staff_client("Marketer")
    upload = SimpleUploadedFile("list.csv", f"id\n{shoppers.pk}\n".encode(), content_type="text/csv")
    response = client.post("/segments/upload/", {"name": "VIP list", "file": upload})
    segment = Segment.objects.get(name="VIP list")
    assert response.status_code == 302
    assert (segment.kind, segment.size) == ("static", 1)


def test_delete(staff_client, shoppers):
    client, _user = staff_client("Marketer")
    segment = services.create_segment(name="S", rule={"all": []})
    assert client.post(f"/segments/{segment.pk}/delete/").status_code == 302
    assert not Segment.objects.filter(pk=segment.pk).exists()


def test_dashboard_charts_link_to_segments(staff_client, shoppers):
    client, _user = staff_client("Marketer")
    assert "No scores yet" in client.get("/segments/dashboard/").content.decode()
    compute_scores(now=NOW + timedelta(days=1))
    body = client.get("/segments/dashboard/").content.decode()
    assert 'data-testid="rfm-heatmap"' in body
    assert "/segments/new/?rule=" in body and "score.tier" in body


def test_scoring_preview_and_save(staff_client, shoppers):
    client, _user = staff_client("Admin")
    compute_scores(now=NOW)
    form = {"half_life_days": 30, "weight_consumption": 1, "weight_social": 0, "weight_activity": 0,
            "key_percent": 40, "middle_percent": 40}
    body = client.post("/segments/scoring/", form, HTTP_HX_REQUEST="true").content.decode()
    assert "customers would change tier" in body
    bad = client.post("/segments/scoring/", {**form, "weight_consumption": 0}, HTTP_HX_REQUEST="true").content.decode()
    assert "not all zero" in bad


def test_profile_shows_scores_with_reasons(staff_client, shoppers):
    client, _user = staff_client("Agent")
    compute_scores(now=NOW)
    body = client.get(f"/customers/{shoppers.pk}/").content.decode()
    assert 'data-testid="score-panel"' in body
    assert "paid orders: frequency" in body


@pytest.mark.parametrize("url", [
    "/segments/{id}/", "/segments/{id}/edit/", "/segments/{id}/status/", "/segments/{id}/export.csv",
])
def test_another_brands_segment_is_not_found(staff_client, other_brand, brand, url):
    client, _user = staff_client("Admin")
    with tenant_context(other_brand):
        theirs = Segment.objects.create(pk=987_654, name="Beta secret", rule={"all": []})
    connection.set_tenant(brand)
    try:
        assert client.get(url.format(id=theirs.pk)).status_code == 404
        assert client.post(f"/segments/{theirs.pk}/refresh/").status_code == 404
        assert client.post(f"/segments/{theirs.pk}/delete/").status_code == 404
    finally:
        with tenant_context(other_brand):
            Segment.objects.filter(pk=987_654).delete()
        connection.set_tenant(brand)


def test_scores_are_per_brand(brand, other_brand):
    CustomerFactory()
    compute_scores(now=NOW)
    with tenant_context(other_brand):
        assert CustomerScore.objects.count() == 0
    assert CustomerScore.objects.count() == Customer.objects.count()
