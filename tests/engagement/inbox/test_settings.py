"""Inbox settings (admins): SLA policy from business-hours text, routing rules, teams, canned replies."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from engagement.inbox.models import CannedReply, RoutingRule, SlaPolicy, Team
from engagement.inbox.services import sla_targets
from scrm.staff.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_admin_sets_the_sla_policy_from_plain_text(staff_client):
    client, _user = staff_client("Admin")
    response = client.post(reverse("engagement:inbox-sla-new"), {
        "name": "China office", "timezone": "Asia/Shanghai",
        "business_hours": "Mon 09:00-12:00, 13:00-18:00\nTue 09:00-18:00\nsat 10:00-14:00",
        "holidays": "2026-10-01, 2026-10-02", "first_response": "480, 240, 60, 15", "resolution": "4320, 1440, 480, 120",
    })
    assert response.status_code == 302
    policy = SlaPolicy.objects.get(active=True)
    assert policy.business_hours == {"0": [["09:00", "12:00"], ["13:00", "18:00"]], "1": [["09:00", "18:00"]], "5": [["10:00", "14:00"]]}
    assert policy.holidays == ["2026-10-01", "2026-10-02"]
    assert sla_targets().first_response == {0: 480, 1: 240, 2: 60, 3: 15}
    assert AuditEntry.objects.filter(action="inbox.sla.create").exists()
    # a second save edits the same active policy
    client.post(reverse("engagement:inbox-sla-new"), {
        "name": "China office", "timezone": "Asia/Shanghai", "business_hours": "", "holidays": "",
        "first_response": "1, 2, 3, 4", "resolution": "10, 20, 30, 40",
    })
    assert SlaPolicy.objects.count() == 1 and SlaPolicy.objects.get().business_hours == {}


def test_bad_sla_input_is_refused_with_reasons(staff_client):
    client, _user = staff_client("Admin")
    response = client.post(reverse("engagement:inbox-sla-new"), {
        "name": "x", "timezone": "Mars/Olympus", "business_hours": "Someday 9-5", "holidays": "tomorrow",
        "first_response": "1, 2", "resolution": "a, b, c, d",
    })
    body = response.content.decode()
    for field in ("timezone", "business_hours", "holidays", "first_response", "resolution"):
        assert f'data-testid="error-{field}"' in body, field
    assert not SlaPolicy.objects.exists()


def test_admin_creates_a_team_a_rule_and_a_canned_reply(staff_client):
    client, user = staff_client("Admin")
    client.post(reverse("engagement:inbox-team-new"), {"name": "VIP", "strategy": "round_robin", "members": [user.pk]})
    team = Team.objects.get(name="VIP")
    assert list(team.members.all()) == [user]
    client.post(reverse("engagement:inbox-rule-new"), {
        "name": "VIP first", "position": 1, "enabled": "on", "channels": ["wechat"], "languages": "ZH",
        "keywords": "退款, refund", "customer_tags": "VIP", "set_priority": 3, "set_team": team.pk, "add_labels": "vip",
    })
    rule = RoutingRule.objects.get()
    assert (rule.languages, rule.keywords, rule.customer_tags, rule.set_team) == (["zh"], ["退款", "refund"], ["VIP"], team)
    client.post(reverse("engagement:inbox-canned-new"), {"title": "Hi", "body": "Hello {{ customer.first_name|there }}"})
    assert CannedReply.objects.get().title == "Hi"
    page = client.get(reverse("engagement:inbox-settings")).content.decode()
    assert "VIP first" in page and "退款" in page


def test_only_admins_configure_and_other_brands_ids_are_404(staff_client, brand, other_brand):
    agent, _user = staff_client("Agent")
    assert agent.get(reverse("engagement:inbox-settings")).status_code == 403
    client, _admin = staff_client("Admin")
    connection.set_tenant(other_brand)
    ids = {"team": Team.objects.create(name="Beta team").pk, "canned": CannedReply.objects.create(title="b", body="b").pk,
           "rule": RoutingRule.objects.create(name="Beta rule").pk}
    connection.set_tenant(brand)
    for kind, pk in ids.items():
        assert client.get(reverse("engagement:inbox-setting-edit", args=[kind, pk])).status_code == 404
        assert client.post(reverse("engagement:inbox-setting-delete", args=[kind, pk])).status_code == 404
    assert client.get("/inbox/settings/nothing/new/").status_code == 404
