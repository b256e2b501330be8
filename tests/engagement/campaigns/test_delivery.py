"""Campaign sends through the outbox into the WeChat sandbox: exactly the consenting
recipients receive one message each, the outbox's answers (sent, platform errors) come back
onto the recipients and the report, receipts raise the funnel, and a campaign without an
enabled account pauses with a reason instead of sending."""

from dataclasses import replace
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from channels import hooks, outbox, pipeline
from channels import services as channel_services
from channels.models import OutboundMessage
from channels.sandboxes.wechat import WeChatSandbox
from customers.models import Interaction
from engagement.campaigns import delivery, planning, selectors, services
from engagement.campaigns.models import Campaign, CampaignRecipient, TrackedLink
from tests.engagement.campaigns.helpers import (
    SANDBOX_APPID,
    SANDBOX_SECRET,
    SANDBOX_TOKEN,
    campaign_for,
    segment_of,
    wechat_connector,
    wechat_customer,
)


@pytest.fixture
def sandbox():
    sandbox = WeChatSandbox(token=SANDBOX_TOKEN, appid=SANDBOX_APPID, app_secret=SANDBOX_SECRET).start()
    yield sandbox
    sandbox.stop()


def _wrote_recently(customer, sandbox, *, platform_knows: bool = True):  # noqa: ANN001, ANN202
    """The customer messaged the account an hour ago (inside WeChat's 48 h window)."""
    Interaction.objects.create(customer=customer, channel="wechat", kind="message_in", external_id=f"in-{customer.pk}",
                               occurred_at=timezone.now() - timedelta(hours=1))
    if platform_knows:
        sandbox.last_inbound[f"o-{customer.pk}"] = timezone.now().timestamp()
    return customer


def _deliver_all() -> None:
    while outbox.deliver_due_messages().sent:
        pass


def test_the_sandbox_receives_exactly_the_consenting_recipients_once(brand, sandbox):
    # given three consenting customers who wrote recently, one who withdrew, one never asked
    connector = wechat_connector(api_base=sandbox.server.url)
    fans = [_wrote_recently(wechat_customer(display_name=f"Fan {i}"), sandbox) for i in range(3)]
    withdrawn = _wrote_recently(wechat_customer(consent="withdrawn"), sandbox)
    unasked = _wrote_recently(wechat_customer(consent=None), sandbox)
    campaign = campaign_for(segment_of([*fans, withdrawn, unasked]), message_type="text", text="Hi {{ name|friend }}")

    # when planned, queued and delivered by the outbox, then synced back
    planning.plan_recipients(campaign, planning.segment_audience(campaign))
    assert services.send_batch(campaign.pk) == 3
    _deliver_all()
    waiting = delivery.sync_outbox(campaign_id=campaign.pk)

    # then the platform got one message per consenting fan, with their own text
    assert sorted((m["touser"], m["text"]["content"]) for m in sandbox.sent) == sorted(
        (f"o-{fan.pk}", f"Hi Fan {i}") for i, fan in enumerate(fans)
    )
    assert waiting == 0
    rows = CampaignRecipient.objects.filter(campaign=campaign, customer__in=fans)
    assert set(rows.values_list("status", flat=True)) == {"delivered"}  # WeChat's success is the delivery
    assert all(r.sent_at and r.delivered_at == r.sent_at for r in rows)
    assert services.finish_if_done(campaign.pk)
    assert OutboundMessage.objects.get(pk=rows[0].outbound_message_id).connector == connector

    # and sending again (a re-run) sends nothing more
    assert services.send_batch(campaign.pk) == 0
    _deliver_all()
    assert len(sandbox.sent) == 3


def test_platform_errors_come_back_with_their_code_and_show_in_the_report(staff_client, sandbox):
    client, _user = staff_client("Marketer")
    wechat_connector(api_base=sandbox.server.url)
    # the platform has no record of this customer writing: it refuses with 45015
    known = _wrote_recently(wechat_customer(), sandbox)
    stranger = _wrote_recently(wechat_customer(), sandbox, platform_knows=False)
    campaign = campaign_for(segment_of([known, stranger]), message_type="text")
    planning.plan_recipients(campaign, planning.segment_audience(campaign))
    services.send_batch(campaign.pk)

    # when the outbox delivers and the campaign task syncs
    _deliver_all()
    delivery.sync_outbox(campaign_id=campaign.pk)

    # then the stranger's send failed with WeChat's code, the known one is delivered
    failed = CampaignRecipient.objects.get(campaign=campaign, customer=stranger)
    assert failed.status == "failed" and failed.error.startswith("45015: ") and failed.sent_at is None
    assert selectors.progress(campaign).done == 2 and selectors.progress(campaign).failed == 1
    total = selectors.funnel(campaign)["total"]
    assert (total["sent"], total["delivered"], total["failed"]) == (1, 1, 1)
    html = client.get(reverse("engagement:campaign-report", args=[campaign.pk])).content.decode()
    assert 'data-testid="funnel-2">1<' in html and 'data-testid="failed">1<' in html and "45015" in html


def test_receipts_raise_the_funnel_once_and_never_lower_it(brand, sandbox):
    # given a delivered send whose platform id is known, and one already clicked
    wechat_connector(api_base=sandbox.server.url)
    reader, clicker = (_wrote_recently(wechat_customer(), sandbox) for _ in range(2))
    campaign = campaign_for(segment_of([reader, clicker]), message_type="text")
    planning.plan_recipients(campaign, planning.segment_audience(campaign))
    services.send_batch(campaign.pk)
    rows = {r.customer_id: r for r in CampaignRecipient.objects.filter(campaign=campaign)}
    OutboundMessage.objects.filter(pk=rows[reader.pk].outbound_message_id).update(status="sent", sent_at=timezone.now(),
                                                                                  platform_message_id="mid-1")
    OutboundMessage.objects.filter(pk=rows[clicker.pk].outbound_message_id).update(status="sent", sent_at=timezone.now())
    delivery.sync_outbox(campaign_id=campaign.pk)
    CampaignRecipient.objects.filter(pk=rows[clicker.pk].pk).update(status="clicked", clicked_at=timezone.now())
    read_at = timezone.now()

    # when read receipts arrive through the ingestion fan-out (twice: a redelivery)
    receipts = [
        hooks.NewInteraction(id=1, customer_id=reader.pk, channel="wechat", kind="campaign_read", occurred_at=read_at,
                             text="", external_id="read-1", connector_id=0, metadata={"platform_message_id": "mid-1"}),
        hooks.NewInteraction(id=2, customer_id=clicker.pk, channel="wechat", kind="campaign_read", occurred_at=read_at,
                             text="", external_id="read-2", connector_id=0,
                             metadata={"outbound_message": rows[clicker.pk].outbound_message_id}),
    ]
    hooks.publish(receipts)
    hooks.publish([replace(receipts[0], id=3, occurred_at=read_at + timedelta(hours=1))])

    # then the reader is read (first receipt's time), the clicker keeps "clicked" but gains read_at
    reader_row, clicker_row = (CampaignRecipient.objects.get(pk=rows[c.pk].pk) for c in (reader, clicker))
    assert reader_row.status == "read" and reader_row.read_at == read_at
    assert clicker_row.status == "clicked" and clicker_row.read_at == read_at
    assert selectors.funnel(campaign)["total"]["read"] == 2


def test_a_campaign_whose_account_is_disabled_pauses_with_a_reason(brand):
    # given a campaign sending through an account that is then disabled
    connector = wechat_connector()
    campaign = campaign_for(segment_of([wechat_customer()]), connector=connector)
    planning.plan_recipients(campaign, planning.segment_audience(campaign))
    connector.enabled = False
    connector.save()

    # when it tries to send
    assert services.send_batch(campaign.pk) == 0

    # then it pauses, says why, queues nothing, and resuming clears the reason
    campaign.refresh_from_db()
    assert campaign.status == "paused" and "account" in campaign.problem
    assert not OutboundMessage.objects.exists()
    connector.enabled = True
    connector.save()
    services.resume_campaign(campaign=campaign, actor=None)
    assert Campaign.objects.get(pk=campaign.pk).problem == ""
    assert services.send_batch(campaign.pk) == 1


def test_starting_without_any_account_for_the_channel_is_refused(brand):
    campaign = campaign_for(segment_of([wechat_customer()]), channel="facebook", status=Campaign.Status.DRAFT)

    with pytest.raises(services.CampaignError, match="connect"):
        services.start_campaign(campaign=campaign, actor=None, public_base_url="https://alpha.example")


def test_starting_picks_the_brands_enabled_account_for_the_channel(brand):
    connector = wechat_connector()
    campaign = campaign_for(segment_of([wechat_customer()]), status=Campaign.Status.DRAFT)

    services.start_campaign(campaign=campaign, actor=None, public_base_url="https://alpha.example")

    assert Campaign.objects.get(pk=campaign.pk).connector == connector


def test_a_template_campaign_sends_wechats_template_api_with_the_real_payload(brand):
    # given a template campaign with a tracked link to two followers (no 48 h window
    # needed) and one customer who unfollowed the account
    sandbox = WeChatSandbox(token=SANDBOX_TOKEN, appid=SANDBOX_APPID, app_secret=SANDBOX_SECRET,
                            templates={"TPL1": ("first",)}).start()
    try:
        wechat_connector(api_base=sandbox.server.url)
        fans = [wechat_customer(display_name=f"Fan {i}") for i in range(2)]
        gone = wechat_customer(display_name="Gone")
        sandbox.follow(*(f"o-{fan.pk}" for fan in fans))
        campaign = campaign_for(segment_of([*fans, gone]), text="Dear {{ name|friend }}", public_base_url="https://alpha.example")
        variant = campaign.variants.get()
        TrackedLink.objects.create(campaign=campaign, variant=variant, url="https://shop.example/tea")

        # when planned, queued, delivered and synced back
        planning.plan_recipients(campaign, planning.segment_audience(campaign))
        assert services.send_batch(campaign.pk) == 3
        _deliver_all()
        delivery.sync_outbox(campaign_id=campaign.pk)

        # then the template API got WeChat's shape: touser, template_id, url, data{key: {value}}
        assert not sandbox.sent  # nothing through the customer-service API
        received = sorted(sandbox.templates_sent, key=lambda m: m["touser"])
        assert [m["touser"] for m in received] == sorted(f"o-{fan.pk}" for fan in fans)
        for message, fan in zip(received, sorted(fans, key=lambda f: f"o-{f.pk}"), strict=True):
            assert set(message) == {"touser", "template_id", "url", "data", "msgid"}
            assert message["template_id"] == "TPL1"
            assert message["data"] == {"first": {"value": f"Dear {fan.display_name}"}}
            assert message["url"].startswith("https://alpha.example/")
        # the platform's message id is kept (its TEMPLATESENDJOBFINISH names it), and the
        # one who unfollowed failed with WeChat's 43004
        sent = OutboundMessage.objects.filter(kind="template", status="sent")
        assert sorted(sent.values_list("platform_message_id", flat=True)) == sorted(str(m["msgid"]) for m in received)
        refused = CampaignRecipient.objects.get(campaign=campaign, customer=gone)
        assert refused.status == "failed" and refused.error.startswith("43004: ")

        # and accepted is not yet delivered: the platform's TEMPLATESENDJOBFINISH for the
        # first fan, through the ingestion spine, makes that one delivered
        first, second = (CampaignRecipient.objects.get(campaign=campaign, customer=fan) for fan in fans)
        assert (first.status, second.status) == ("sent", "sent") and first.delivered_at is None
        finished = sandbox.template_job_finished(f"o-{fans[0].pk}", first.outbound_message.platform_message_id)
        channel_services.store_raw_event(connector=first.outbound_message.connector, body=finished.body,
                                         dedupe_key="tpl-finish-1", headers={}, query=finished.query)
        pipeline.process_pending_batch()
        first.refresh_from_db()
        second.refresh_from_db()
        assert first.status == "delivered" and first.delivered_at is not None
        assert second.status == "sent"
    finally:
        sandbox.stop()
