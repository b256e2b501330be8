"""Image replies: the upload is checked by its bytes, stored under a random name, served
per brand, and sent through the outbox (WeChat: temporary media upload then an image
message with the returned media_id; Meta: an attachment URL; email: an attachment).
Inbound images show in the thread, escaped."""

from __future__ import annotations

import struct
import zlib
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from channels import outbox
from channels.adapters.email import compose
from channels.adapters.meta import MetaAdapter
from channels.models import RawEvent
from channels.sandboxes.meta import MetaSandbox
from channels.sandboxes.wechat import WeChatSandbox
from customers import privacy
from engagement.inbox import images
from engagement.inbox.models import Conversation, InboxMedia, Message
from tests.channels.conftest import make_connector
from tests.customers.factories import CustomerFactory
from tests.customers.import_files import media_root  # noqa: F401 - fixture
from tests.engagement.inbox.helpers import deliver, inbound

pytestmark = pytest.mark.django_db


def png(width: int = 3, height: int = 2) -> bytes:
    """A real (tiny, valid) PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def jpeg_header(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def upload(content: bytes, name: str = "photo.png", content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def agent_client(staff_client):  # noqa: ANN001, ANN201
    return staff_client("Agent")


@pytest.fixture
def wechat_sandbox():  # noqa: ANN201
    sandbox = WeChatSandbox(token="wechat-token", appid="wx1234567890", app_secret="wechat-app-secret").start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def meta_sandbox():  # noqa: ANN201
    sandbox = MetaSandbox(app_secret="meta-app-secret", page_id="1000", page_token="page-token").start()
    yield sandbox
    sandbox.stop()


def _conversation(connector, text: str = "can you send a photo?") -> Conversation:  # noqa: ANN001
    customer = CustomerFactory(display_name="Ada")
    deliver(inbound(customer, connector, text))
    return Conversation.objects.get(customer=customer)


def _reply(client: Client, conversation: Conversation, *, text: str = "", image: SimpleUploadedFile | None = None):  # noqa: ANN202
    data = {"text": text, "version": conversation.version, "client_key": f"k{conversation.pk}-{timezone.now().timestamp()}"}
    if image is not None:
        data["image"] = image
    return client.post(reverse("engagement:inbox-reply", args=[conversation.pk]), data)


# --- what the bytes are ---------------------------------------------------------------------


def test_types_and_dimensions_come_from_the_bytes():
    assert images.sniff(png(640, 480)) == images.ImageInfo("image/png", 640, 480)
    assert images.sniff(b"GIF89a" + struct.pack("<HH", 10, 20) + b"\x00" * 8) == images.ImageInfo("image/gif", 10, 20)
    assert images.sniff(jpeg_header(1024, 768)) == images.ImageInfo("image/jpeg", 1024, 768)
    vp8x = b"RIFF" + b"\x00" * 4 + b"WEBPVP8X" + b"\x00" * 8 + (799).to_bytes(3, "little") + (599).to_bytes(3, "little")
    assert images.sniff(vp8x) == images.ImageInfo("image/webp", 800, 600)
    assert images.sniff(b"<svg onload=alert(1)>") is None
    assert images.sniff(b"\x89PNG\r\n\x1a\n") is None  # truncated header


def test_wechat_refuses_webp_and_every_channel_refuses_huge_dimensions():
    webp = b"RIFF" + b"\x00" * 4 + b"WEBPVP8X" + b"\x00" * 8 + (9).to_bytes(3, "little") + (9).to_bytes(3, "little")
    with pytest.raises(images.InvalidImage):
        images.inspect(webp, channel="wechat")
    assert images.inspect(webp, channel="facebook").width == 10
    with pytest.raises(images.InvalidImage):
        images.inspect(png(20_000, 20_000)[:40], channel="facebook")


# --- upload validation through the reply box -----------------------------------------------


def test_bad_magic_bytes_are_refused_whatever_the_name_says(agent_client, brand, media_root):  # noqa: F811
    client, _user = agent_client
    conversation = _conversation(make_connector("wechat_oa"))
    # when the agent attaches an HTML page named like a PNG
    response = _reply(client, conversation, text="here", image=upload(b"<html><script>alert(1)</script>", "x.png"))
    # then nothing is stored or sent, and the agent reads why (the draft is kept)
    body = response.content.decode()
    assert response.status_code == 200
    assert "not a JPEG, PNG, GIF or WebP image" in body and "Attach the image again." in body
    assert ">here</textarea>" in body
    assert not InboxMedia.objects.exists()
    assert not Message.objects.filter(direction="out").exists()


def test_an_image_over_the_limit_is_refused(agent_client, brand, media_root):  # noqa: F811
    client, _user = agent_client
    conversation = _conversation(make_connector("wechat_oa"))
    big = png() + b"\x00" * images.MAX_BYTES
    response = _reply(client, conversation, image=upload(big))
    assert "larger than 2 MB" in response.content.decode()
    assert not InboxMedia.objects.exists()


def test_a_hostile_file_name_is_never_used(agent_client, brand, media_root):  # noqa: F811
    client, _user = agent_client
    conversation = _conversation(make_connector("wechat_oa"))
    hostile = '../../"><img src=x onerror=alert(1)>.png'
    response = _reply(client, conversation, image=upload(png(), hostile))
    assert response.status_code == 200
    media = InboxMedia.objects.get()
    # stored under the random token in the brand's own media folder, nowhere else
    assert media.file.name.startswith("inbox/") and media.file.name.endswith(f"/{media.token}.png")
    assert "onerror" not in media.file.name and ".." not in media.file.name
    assert (media_root / connection.schema_name / media.file.name).read_bytes() == png()
    assert (media.content_type, media.width, media.height, media.size) == ("image/png", 3, 2, len(png()))
    assert "onerror=alert(1)" not in response.content.decode()


def test_channels_without_image_sends_say_so_and_refuse(agent_client, brand, media_root):  # noqa: F811
    client, _user = agent_client
    conversation = _conversation(make_connector("x"))
    page = client.get(reverse("engagement:inbox-conversation", args=[conversation.pk]), HTTP_HX_REQUEST="true")
    assert "Images cannot be sent on this channel." in page.content.decode()
    assert 'name="image"' not in page.content.decode()
    response = _reply(client, conversation, text="see this", image=upload(png()))
    assert "Images cannot be sent on this channel." in response.content.decode()
    assert not Message.objects.filter(direction="out").exists()


# --- sending ----------------------------------------------------------------------------------


def test_wechat_uploads_the_image_then_sends_it_with_the_returned_media_id(agent_client, brand, media_root, wechat_sandbox):  # noqa: F811
    client, _user = agent_client
    connector = make_connector("wechat_oa", config={"appid": "wx1234567890", "api_base": wechat_sandbox.server.url},
                               secrets={"token": "wechat-token", "app_secret": "wechat-app-secret"})
    conversation = _conversation(connector)
    wechat_sandbox.last_inbound[conversation.recipient] = timezone.now().timestamp()
    # when the agent sends text and an image
    response = _reply(client, conversation, text="这是发票", image=upload(png(), "发票.png"))
    assert response.status_code == 200
    report = outbox.deliver_due_messages()
    # then the platform got the text, the upload, and an image message naming the upload
    assert report.sent == 2
    paths = [call.path for call in wechat_sandbox.server.calls if call.path != "/cgi-bin/token"]
    assert paths == ["/cgi-bin/message/custom/send", "/cgi-bin/media/upload", "/cgi-bin/message/custom/send"]
    upload_call = wechat_sandbox.server.calls[[c.path for c in wechat_sandbox.server.calls].index("/cgi-bin/media/upload")]
    assert upload_call.query["type"] == "image"
    [(media_id, (filename, content_type, content))] = wechat_sandbox.media.items()
    assert (content, content_type) == (png(), "image/png")
    assert filename == InboxMedia.objects.get().file.name.rsplit("/", 1)[1]
    assert wechat_sandbox.sent == [
        {"touser": conversation.recipient, "msgtype": "text", "text": {"content": "这是发票"}},
        {"touser": conversation.recipient, "msgtype": "image", "image": {"media_id": media_id}},
    ]
    # and the thread shows both, the image from our own media URL
    outbound = list(Message.objects.filter(direction="out").order_by("id"))
    assert [m.outbound.status for m in outbound] == ["sent", "sent"]
    thread = client.get(reverse("engagement:inbox-thread", args=[conversation.pk])).content.decode()
    media = InboxMedia.objects.get()
    assert f'src="/p/media/{media.token}/"' in thread and 'loading="lazy"' in thread


def test_the_wechat_sandbox_refuses_what_the_platform_refuses(brand, wechat_sandbox):
    from channels.adapters.http import call_json, multipart

    _status, answer = call_json(f"{wechat_sandbox.server.url}/cgi-bin/token?grant_type=client_credential"
                                "&appid=wx1234567890&secret=wechat-app-secret")
    token = answer["access_token"]
    url = f"{wechat_sandbox.server.url}/cgi-bin/media/upload?access_token={token}&type=image"

    def send(content: bytes) -> dict:
        body, content_type = multipart("media", filename="a.png", content_type="image/png", content=content)
        return call_json(url, body=body, headers={"Content-Type": content_type})[1]

    assert send(b"not an image")["errcode"] == 40005
    assert send(png() + b"\x00" * (2 * 1024 * 1024))["errcode"] == 40009
    assert "media_id" in send(png())
    wechat_sandbox.last_inbound["o_1"] = timezone.now().timestamp()
    _status, unknown = call_json(f"{wechat_sandbox.server.url}/cgi-bin/message/custom/send?access_token={token}",
                                 payload={"touser": "o_1", "msgtype": "image", "image": {"media_id": "never-uploaded"}})
    assert unknown["errcode"] == 40007


def test_meta_gets_a_public_url_that_serves_the_image_on_this_brand_only(agent_client, brand, other_brand, media_root, meta_sandbox):  # noqa: F811
    client, _user = agent_client
    connector = make_connector("facebook", config={"page_id": "1000", "graph_base": meta_sandbox.server.url},
                               secrets={"app_secret": "meta-app-secret", "page_token": "page-token"})
    conversation = _conversation(connector)
    meta_sandbox.last_inbound[conversation.recipient] = timezone.now().timestamp()
    _reply(client, conversation, image=upload(png(5, 4)))
    assert outbox.deliver_due_messages().sent == 1
    [sent] = meta_sandbox.sent
    media = InboxMedia.objects.get()
    url = sent["message"]["attachment"]["payload"]["url"]
    assert sent["message"]["attachment"]["type"] == "image"
    assert url == f"https://{brand.primary_host()}/p/media/{media.token}/"
    assert len(media.token) >= 40  # unguessable
    # when anyone (Meta's fetcher) opens the URL on the brand's host
    anonymous = Client(HTTP_HOST=brand.primary_host())
    served = anonymous.get(f"/p/media/{media.token}/")
    assert served.status_code == 200 and b"".join(served.streaming_content) == png(5, 4)
    assert served["Content-Type"] == "image/png" and served["X-Content-Type-Options"] == "nosniff"
    # then the same token on another brand's host, or a wrong token, is a 404
    connection.set_tenant(other_brand)
    assert Client(HTTP_HOST=other_brand.primary_host()).get(f"/p/media/{media.token}/").status_code == 404
    connection.set_tenant(brand)
    assert anonymous.get(f"/p/media/{media.token[:-1]}x/").status_code == 404


def test_email_replies_carry_the_image_as_an_attachment(agent_client, brand, media_root):  # noqa: F811
    client, _user = agent_client
    connector = make_connector("x")  # any connector row; compose only reads its address
    connector.config = {"address": "help@brand.example"}
    conversation = _conversation(make_connector("x"))
    Conversation.objects.filter(pk=conversation.pk).update(channel="email", recipient="ada@example.com")
    conversation.refresh_from_db()
    _reply(client, conversation, text="Your invoice", image=upload(png()))
    [message] = Message.objects.filter(direction="out")
    assert message.outbound.kind == "image" and message.outbound.payload["text"] == "Your invoice"
    mail = message_from_bytes(compose(connector, message.outbound).as_bytes(), policy=policy.default)
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "image/png" and attachment.get_content() == png()
    assert mail.get_body(("plain",)).get_content().strip() == "Your invoice"


def test_erasing_the_customer_deletes_the_images_sent_to_them(agent_client, brand, media_root):  # noqa: F811
    # given images an agent sent to two customers
    client, _user = agent_client
    connector = make_connector("x")
    conversations = [_conversation(connector), _conversation(connector)]
    Conversation.objects.filter(pk__in=[c.pk for c in conversations]).update(channel="email", recipient="ada@example.com")
    for conversation in conversations:
        conversation.refresh_from_db()
        _reply(client, conversation, image=upload(png()))
    erased, kept = (InboxMedia.objects.get(token=Message.objects.get(conversation=c, direction="out").attachments[0]["media"])
                    for c in conversations)
    erased_path = Path(erased.file.path)  # the brand's own media folder

    # when the first customer is erased
    privacy.erase_customer(customer=conversations[0].customer)

    # then their image's file and row are gone and its public link is a 404; the other stays
    assert not erased_path.exists() and not InboxMedia.objects.filter(pk=erased.pk).exists()
    public = Client(HTTP_HOST=brand.primary_host())
    assert public.get(reverse("engagement:inbox-media", args=[erased.token])).status_code == 404
    assert Path(kept.file.path).exists()
    assert public.get(reverse("engagement:inbox-media", args=[kept.token])).status_code == 200


# --- inbound images in the thread ---------------------------------------------------------------


def test_inbound_images_render_escaped_and_lazy(agent_client, brand):
    client, _user = agent_client
    wechat = make_connector("wechat_oa")
    customer = CustomerFactory()
    deliver(inbound(customer, wechat, "", metadata={"msg_type": "image", "mediaid": "m1",
                                                     "picurl": 'https://mmbiz.qpic.cn/a.jpg?x="><script>alert(1)</script>'}))
    deliver(inbound(customer, wechat, "", metadata={"msg_type": "image", "picurl": "javascript:alert(1)"}))
    conversation = Conversation.objects.get(customer=customer)
    thread = client.get(reverse("engagement:inbox-thread", args=[conversation.pk])).content.decode()
    assert 'src="https://mmbiz.qpic.cn/a.jpg?x=&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in thread
    assert 'loading="lazy"' in thread and 'class="msg-image"' in thread
    assert "<script>alert(1)" not in thread
    assert 'src="javascript:' not in thread and 'href="javascript:' not in thread
    assert conversation.last_message_preview == "[image]"


def test_meta_image_attachments_keep_their_url_and_show_in_the_thread(agent_client, brand):
    client, _user = agent_client
    connector = make_connector("facebook")
    body = (b'{"object": "page", "entry": [{"id": "1000", "time": 1, "messaging": [{"sender": {"id": "psid-9"}, '
            b'"recipient": {"id": "1000"}, "timestamp": 1700000000000, "message": {"mid": "m_1", "attachments": '
            b'[{"type": "image", "payload": {"url": "https://scontent.xx.fbcdn.net/v/p.jpg"}}]}}]}]}')
    [event] = MetaAdapter("facebook").parse(connector, RawEvent(body=body)).events
    assert event.metadata == {"attachments": [{"type": "image", "url": "https://scontent.xx.fbcdn.net/v/p.jpg"}]}
    customer = CustomerFactory()
    deliver(inbound(customer, connector, "", metadata=event.metadata))
    conversation = Conversation.objects.get(customer=customer)
    assert conversation.last_message_preview == "[image]"
    thread = client.get(reverse("engagement:inbox-thread", args=[conversation.pk])).content.decode()
    assert 'src="https://scontent.xx.fbcdn.net/v/p.jpg"' in thread


def test_window_rules_still_apply_to_images(agent_client, brand, media_root):  # noqa: F811
    client, _user = agent_client
    conversation = _conversation(make_connector("wechat_oa"))
    Conversation.objects.filter(pk=conversation.pk).update(last_inbound_at=timezone.now() - timedelta(hours=60))
    conversation.refresh_from_db()
    _reply(client, conversation, image=upload(png()))
    assert not InboxMedia.objects.exists() and not Message.objects.filter(direction="out").exists()
