"""Satisfaction requests after resolve: the request on the channel, ratings by reply
(without reopening) and on the hosted page, the report by agent and team."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from engagement.inbox import csat, services
from engagement.inbox.models import Conversation, Message, SatisfactionSurvey, Team
from tests.channels.conftest import make_connector
from tests.customers.factories import CustomerFactory
from tests.engagement.inbox.helpers import agent, deliver, inbound

pytestmark = pytest.mark.django_db


@pytest.fixture
def wechat(brand):  # noqa: ANN001, ANN201
    return make_connector("wechat_oa")


def _resolved(wechat, *, language: str = "", owner=None, team=None):  # noqa: ANN001, ANN202
    owner = owner or agent()
    customer = CustomerFactory()
    deliver(inbound(customer, wechat, "where is my parcel", language=language))
    conversation = Conversation.objects.get(customer=customer)
    if team:
        Conversation.objects.filter(pk=conversation.pk).update(team=team)
    services.assign(conversation_id=conversation.pk, assignee=owner, actor=owner)
    services.resolve(conversation_id=conversation.pk, actor=owner)
    return Conversation.objects.get(pk=conversation.pk), customer


def _link(survey: SatisfactionSurvey) -> str:
    text = Message.objects.get(outbound=survey.outbound).text
    return re.search(r"https?://[^/\s]+(/p/csat/[^/\s]+/)", text).group(1)


def test_resolving_sends_a_rating_request_on_the_channel(wechat):
    conversation, _customer = _resolved(wechat, language="zh")
    survey = SatisfactionSurvey.objects.get()
    assert survey.conversation_id == conversation.pk and survey.rating is None
    assert survey.outbound.recipient == conversation.recipient and survey.outbound.payload["text"].startswith("请为本次服务评分")
    assert "/p/csat/" in survey.outbound.payload["text"]


def test_a_digit_reply_is_the_rating_and_does_not_reopen(wechat):
    conversation, customer = _resolved(wechat)
    # when the customer answers "５" (full width) on the channel
    deliver(inbound(customer, wechat, " ５ "))
    # then the survey holds 5, the conversation stays resolved, the reply is in its thread
    survey = SatisfactionSurvey.objects.get()
    assert (survey.rating, survey.rated_via) == (5, "reply")
    conversation.refresh_from_db()
    assert conversation.status == "resolved" and conversation.messages.filter(direction="in", text=" ５ ").exists()
    # and a later real message does reopen it
    deliver(inbound(customer, wechat, "5 more questions"))
    conversation.refresh_from_db()
    assert conversation.status == "open" and SatisfactionSurvey.objects.get().rating == 5


def test_a_digit_after_the_window_is_an_ordinary_message(wechat):
    conversation, customer = _resolved(wechat)
    SatisfactionSurvey.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    deliver(inbound(customer, wechat, "3"))
    conversation.refresh_from_db()
    assert conversation.status == "open" and SatisfactionSurvey.objects.get().rating is None


def test_no_request_when_the_reply_window_is_closed(wechat):
    owner = agent()
    customer = CustomerFactory()
    deliver(inbound(customer, wechat, "old", at=timezone.now() - timedelta(hours=49)))
    conversation = Conversation.objects.get()
    services.resolve(conversation_id=conversation.pk, actor=owner)
    assert not SatisfactionSurvey.objects.exists()


def test_the_hosted_page_records_a_rating_with_csrf(wechat, brand):
    _resolved(wechat)
    survey = SatisfactionSurvey.objects.get()
    path = _link(survey)
    client = Client(HTTP_HOST=brand.primary_host(), enforce_csrf_checks=True)
    page = client.get(path)
    assert page.status_code == 200 and page.content.decode().count('name="rating"') == 5
    # a POST without the page's CSRF token is refused
    assert client.post(path, {"rating": "2"}).status_code == 403
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    answer = client.post(path, {"rating": "4", "csrfmiddlewaretoken": token})
    assert answer.status_code == 200 and 'data-testid="csat-thanks"' in answer.content.decode()
    assert SatisfactionSurvey.objects.get().rating == 4
    assert client.post(path, {"rating": "9", "csrfmiddlewaretoken": token}).status_code == 400


def test_forged_expired_and_tampered_tokens_are_404(wechat, brand):
    _resolved(wechat)
    path = _link(SatisfactionSurvey.objects.get())
    client = Client(HTTP_HOST=brand.primary_host())
    assert client.get(path[:-3] + "xx/").status_code == 404
    assert client.get("/p/csat/<script>/").status_code == 404
    SatisfactionSurvey.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    expired = client.get(path)
    assert 'data-testid="csat-expired"' in expired.content.decode()
    client.post(path, {"rating": "1"})
    assert SatisfactionSurvey.objects.get().rating is None


def test_the_hosted_page_is_rate_limited(wechat, brand):
    _resolved(wechat)
    path = _link(SatisfactionSurvey.objects.get())
    client = Client(HTTP_HOST=brand.primary_host(), REMOTE_ADDR="203.0.113.9")
    codes = [client.get(path).status_code for _ in range(25)]
    assert codes[0] == 200 and codes[-1] == 429


def test_the_page_escapes_the_brand_name(wechat, brand):
    _resolved(wechat)
    original = brand.name
    brand.name = "<script>alert(1)</script>"
    brand.save(update_fields=["name"])
    try:
        body = Client(HTTP_HOST=brand.primary_host()).get(_link(SatisfactionSurvey.objects.get())).content.decode()
        assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body
    finally:
        brand.name = original
        brand.save(update_fields=["name"])


def test_token_of_another_brand_is_404(wechat, brand, other_brand):
    from tests.conftest import tenant_context

    with tenant_context(other_brand):
        connector = make_connector("wechat_oa")
        _resolved(connector)
        path = _link(SatisfactionSurvey.objects.get())
    assert Client(HTTP_HOST=brand.primary_host()).get(path).status_code == 404


def test_report_shows_average_and_distribution_by_agent_and_team(wechat, staff_client):
    # given two agents' ratings
    team = Team.objects.create(name="Care")
    ada, bob = agent(), agent()
    for owner, rating in ((ada, 5), (ada, 4), (bob, 1)):
        _conversation, customer = _resolved(wechat, owner=owner, team=team)
        deliver(inbound(customer, wechat, str(rating)))
    # when an agent opens the reports
    client, _user = staff_client("Agent")
    body = client.get(reverse("engagement:inbox-reports")).content.decode()
    # then the average, the distribution and the per-agent rows show
    assert 'data-testid="csat-average">3.33 / 5' in body
    report = csat_report_rows()
    assert report[ada.username] == (2, 4.5, (0, 0, 0, 1, 1)) and report[bob.username] == (1, 1.0, (1, 0, 0, 0, 0))
    assert "Average rating by agent" in body and "<svg" in body


def csat_report_rows() -> dict:
    from engagement.inbox.reports import csat_report

    report = csat_report(timezone.now() - timedelta(days=1), none_label="-")
    assert [row.label for row in report.by_team] == ["Care"] and report.by_team[0].count == 3
    return {row.label: (row.count, row.average, row.distribution) for row in report.by_agent}


def test_rating_in_accepts_only_a_lone_digit():
    assert [csat.rating_in(t) for t in ("1", " 5 ", "３", "4!", "0", "6", "10", "5 stars", "")] == [1, 5, 3, 4, None, None, None, None, None]
