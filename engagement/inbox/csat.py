"""Customer satisfaction (CSAT): the rating request sent on resolve and the answers.

A resolved conversation gets one request on its channel: reply 1–5, or open the hosted
page /p/csat/<token>/ (signed, names the brand's schema, so a token never works on
another brand's host). Within SURVEY_LIFETIME a reply that is just a digit 1–5 (full-width
digits too) is the rating: it is shown in the thread but does not reopen the
conversation. The latest answer within the lifetime counts.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.utils import timezone

from channels.hooks import NewInteraction
from engagement.inbox import notices, windows
from engagement.inbox.models import (
    Conversation,
    CustomerNotice,
    Message,
    Resolution,
    SatisfactionSurvey,
)

SURVEY_LIFETIME = timedelta(days=3)
TOKEN_SALT = "engagement.inbox.csat"
RATINGS = (1, 2, 3, 4, 5)


def survey_token(survey: SatisfactionSurvey) -> str:
    return signing.dumps({"s": connection.schema_name, "id": survey.pk}, salt=TOKEN_SALT, compress=True)


def survey_from_token(token: str) -> SatisfactionSurvey | None:
    """The survey a token names, in this brand; None when forged, from another brand or gone."""
    try:
        value = signing.loads(token, salt=TOKEN_SALT, max_age=SURVEY_LIFETIME + timedelta(days=1))
    except signing.BadSignature:
        return None
    if not isinstance(value, dict) or value.get("s") != connection.schema_name or not isinstance(value.get("id"), int):
        return None
    return SatisfactionSurvey.objects.select_related("conversation").filter(pk=value["id"]).first()


def survey_link(survey: SatisfactionSurvey) -> str:
    host = connection.tenant.primary_host() if hasattr(connection.tenant, "primary_host") else ""
    scheme = getattr(settings, "SCRM_URL_SCHEME", "https")
    return f"{scheme}://{host}/p/csat/{survey_token(survey)}/"


def request_rating(*, conversation: Conversation, resolution: Resolution, now: datetime) -> SatisfactionSurvey | None:
    """Called by services.resolve inside its transaction. None when the channel cannot
    carry the request now (reply window closed, no handle)."""
    window = windows.reply_window(channel=conversation.channel, last_inbound_at=conversation.last_inbound_at, now=now)
    if not window.can_reply or window.needs_tag or not conversation.recipient:
        return None
    survey = SatisfactionSurvey.objects.create(
        conversation=conversation, resolution=resolution, channel=conversation.channel,
        assignee_id=resolution.assignee_id, team_id=resolution.team_id, requested_at=now, expires_at=now + SURVEY_LIFETIME,
    )
    text = notices.notice_text(CustomerNotice.Kind.CSAT_REQUEST, language=conversation.language, link=survey_link(survey))
    message = notices.send_automatic_message(conversation, text, now=now)
    if message is not None:
        survey.outbound_id = message.outbound_id
        survey.save(update_fields=["outbound"])
    return survey


def rating_in(text: str) -> int | None:
    """The rating a reply carries: the whole message is one digit 1–5 (full-width too)."""
    cleaned = unicodedata.normalize("NFKC", text).strip().rstrip(".!。！")
    return int(cleaned) if cleaned in {str(r) for r in RATINGS} else None


def record_reply_ratings(inbound: Sequence[NewInteraction]) -> set[int]:
    """Inside the pipeline's transaction: digits answering an open survey become its
    rating and a message on the (still resolved) conversation. Returns the interaction
    ids consumed, which the inbox then leaves alone."""
    candidates = {item.id: (item, rating) for item in inbound if (rating := rating_in(item.text)) is not None}
    if not candidates:
        return set()
    keys = {(item.customer_id, item.connector_id) for item, _r in candidates.values()}
    now = timezone.now()
    surveys: dict[tuple[int, int], SatisfactionSurvey] = {}
    open_surveys = (
        SatisfactionSurvey.objects.select_related("conversation")
        .filter(conversation__customer_id__in={c for c, _k in keys}, conversation__status=Conversation.Status.RESOLVED,
                expires_at__gt=now)
        .order_by("requested_at")
    )
    for survey in open_surveys:  # bounded: one open survey per customer's conversation
        surveys[(survey.conversation.customer_id, survey.conversation.connector_id)] = survey
    consumed: set[int] = set()
    messages: list[Message] = []
    answered: dict[int, SatisfactionSurvey] = {}
    for item, rating in sorted(candidates.values(), key=lambda pair: (pair[0].occurred_at, pair[0].id)):
        survey = surveys.get((item.customer_id, item.connector_id))
        if survey is None or item.occurred_at < survey.requested_at - timedelta(minutes=5):
            continue
        survey.rating, survey.rated_at, survey.rated_via = rating, item.occurred_at, SatisfactionSurvey.Via.REPLY
        answered[survey.pk] = survey
        consumed.add(item.id)
        messages.append(Message(
            conversation_id=survey.conversation_id, direction=Message.Direction.IN, interaction_id=item.id,
            text=item.text.replace("\x00", "\ufffd"), delivery_status=Message.Delivery.RECEIVED, created_at=item.occurred_at,
        ))
    if answered:
        SatisfactionSurvey.objects.bulk_update(list(answered.values()), ["rating", "rated_at", "rated_via"])
        Message.objects.bulk_create(messages)
        conversations = [survey.conversation for survey in answered.values()]
        for conversation in conversations:
            latest = max(m.created_at for m in messages if m.conversation_id == conversation.pk)
            conversation.last_inbound_at = max(conversation.last_inbound_at or latest, latest)
            conversation.version += 1
            conversation.updated_at = now
        Conversation.objects.bulk_update(conversations, ["last_inbound_at", "version", "updated_at"])
    return consumed


def rate_via_link(*, survey: SatisfactionSurvey, rating: int, now: datetime | None = None) -> bool:
    """The hosted page's answer. False when the survey has expired."""
    now = now or timezone.now()
    if rating not in RATINGS:
        raise ValueError("rating out of range")
    with transaction.atomic():
        updated = SatisfactionSurvey.objects.filter(pk=survey.pk, expires_at__gt=now).update(
            rating=rating, rated_at=now, rated_via=SatisfactionSurvey.Via.LINK,
        )
    return bool(updated)
