"""Browser: a WeChat message signed by the sandbox goes through the real webhook, a real
worker files it, and it appears in the agent's open inbox without a reload; the agent
replies, the outbox worker delivers it to the WeChat sandbox, and the thread shows it sent."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from channels.sandboxes.base import WebhookSender
from channels.sandboxes.traffic import SANDBOX, SANDBOX_AES_KEY, ensure_sandbox_connectors
from channels.sandboxes.wechat import WeChatSandbox
from engagement.inbox.models import AgentProfile, Message, Team
from tests.conftest import PASSWORD, make_staff, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.worker]


def _wechat_sandbox() -> WeChatSandbox:
    _name, config, secrets = SANDBOX["wechat_oa"]
    return WeChatSandbox(token=secrets["token"], appid=config["appid"], app_secret=secrets["app_secret"],
                         original_id=config["original_id"], encoding_aes_key=SANDBOX_AES_KEY)


def test_a_wechat_message_appears_live_and_the_agent_replies(page: Page, live_server_url, celery_worker, committed_brand):
    # given a brand whose WeChat connector talks to a running sandbox, and an online agent
    wechat = _wechat_sandbox().start()
    request_stop = wechat.stop
    with tenant_context(committed_brand):
        connectors = ensure_sandbox_connectors()
        connectors["wechat_oa"].config["api_base"] = wechat.server.url
        connectors["wechat_oa"].save(update_fields=["config"])
        agent = make_staff("Agent", username="mei")
        AgentProfile.objects.create(user=agent, availability=AgentProfile.Availability.ONLINE, capacity=5)
        Team.objects.create(name="Support", is_default=True).members.add(agent)
    base = f"http://{committed_brand.primary_host()}:{urlsplit(live_server_url).port}"
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill("mei")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{base}/inbox/")
    expect(page.get_by_test_id("conversation-list")).to_be_visible()
    expect(page.get_by_test_id("conversation-row")).to_have_count(0)
    page.evaluate("window.__noReload = true")

    # when the customer writes on WeChat (signed, AES safe mode, through the webhook)
    sender = WebhookSender(live_server_url, committed_brand.primary_host())
    answer = sender.post(f"/hooks/{connectors['wechat_oa'].webhook_token}/", wechat.text("o_customer_1", "我的快递到哪了？<b>急</b>"))
    assert answer.body == b"success"

    # then it appears in the open inbox without a reload, escaped
    row = page.get_by_test_id("conversation-row")
    expect(row).to_have_count(1, timeout=30_000)
    expect(row).to_contain_text("我的快递到哪了？<b>急</b>")
    assert page.evaluate("window.__noReload") is True
    # and while nothing changes the list poll is answered 304 and the page is left alone
    with page.expect_response(lambda r: "/inbox/list/" in r.url and r.status == 304, timeout=10_000):
        pass
    expect(row).to_have_count(1)

    # and the agent opens it, replies, and sees the reply in the thread
    row.click()
    expect(page.get_by_test_id("message-in")).to_contain_text("我的快递到哪了？")
    page.keyboard.press("Escape")
    page.locator("body").press("r")
    page.keyboard.type("明天送到，请放心 🙏")
    page.get_by_test_id("send").click()
    expect(page.get_by_test_id("message-out")).to_contain_text("明天送到，请放心 🙏")
    with tenant_context(committed_brand):
        reply = wait_until(lambda: Message.objects.filter(direction="out").first())
        assert reply.author_id == agent.pk and reply.conversation.assignee_id == agent.pk
    # and the sandbox platform receives the reply; the thread updates to "Sent" by itself
    sent = wait_until(lambda: wechat.sent, timeout=30)
    assert sent[0]["touser"] == "o_customer_1" and sent[0]["text"]["content"] == "明天送到，请放心 🙏"
    expect(page.get_by_test_id("delivery")).to_contain_text("Sent", timeout=15_000)
    request_stop()

    # the ? overlay documents the shortcuts
    page.locator("body").press("?")
    expect(page.get_by_test_id("shortcuts")).to_be_visible()


PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
    "0000000c4944415408d763f8cfc000000301010018dd8db00000000049454e44ae426082"
)


def test_the_agent_pastes_an_image_and_the_sandbox_receives_it_by_media_id(page: Page, live_server_url, celery_worker, committed_brand):
    # given a customer who wrote on WeChat and an agent with the conversation open
    wechat = _wechat_sandbox().start()
    with tenant_context(committed_brand):
        connectors = ensure_sandbox_connectors()
        connectors["wechat_oa"].config["api_base"] = wechat.server.url
        connectors["wechat_oa"].save(update_fields=["config"])
        make_staff("Agent", username="lin")
    sender = WebhookSender(live_server_url, committed_brand.primary_host())
    sender.post(f"/hooks/{connectors['wechat_oa'].webhook_token}/", wechat.text("o_customer_2", "能发一张图片吗？"))
    base = f"http://{committed_brand.primary_host()}:{urlsplit(live_server_url).port}"
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill("lin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{base}/inbox/")
    row = page.get_by_test_id("conversation-row")
    expect(row).to_have_count(1, timeout=30_000)
    row.click()
    # when the agent pastes an image into the reply box, sees its preview and sends it
    page.get_by_label("Reply").first.click()
    page.evaluate(
        """(hex) => {
          const bytes = new Uint8Array(hex.match(/../g).map((h) => parseInt(h, 16)));
          const transfer = new DataTransfer();
          transfer.items.add(new File([bytes], "pasted.png", { type: "image/png" }));
          const area = document.querySelector("[data-reply]");
          area.dispatchEvent(new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true }));
        }""",
        PNG_1x1.hex(),
    )
    expect(page.locator("[data-reply-image-preview]")).to_be_visible()
    expect(page.locator("[data-reply-image-name]")).to_contain_text("pasted.png")
    page.get_by_test_id("send").click()
    # then the thread shows the image, and the sandbox got the upload and then the image message
    expect(page.get_by_test_id("message-image")).to_have_count(1, timeout=15_000)
    # (the customer was also told their place in the queue: nobody was online)
    images = wait_until(lambda: [m for m in wechat.sent if m["msgtype"] == "image"], timeout=30)
    [(media_id, (_name, _type, content))] = wechat.media.items()
    assert content == PNG_1x1
    assert images == [{"touser": "o_customer_2", "msgtype": "image", "image": {"media_id": media_id}}]
    # and the agent's own copy loads from the brand's media URL (a decoded 1×1 image)
    image = page.get_by_test_id("message-image")
    assert image.get_attribute("src").startswith("/p/media/")
    image.scroll_into_view_if_needed()  # loading="lazy"
    page.wait_for_function("(img) => img.complete && img.naturalWidth === 1", arg=image.element_handle())
    wechat.stop()
