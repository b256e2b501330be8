"""Campaign models: campaigns, content, offers, sends, tracking (issue 7).

A Campaign targets segments minus exclusion segments on one channel. Planning writes one
CampaignRecipient per (campaign, customer, step) — the idempotency key: a resumed or
re-run send never writes or sends a row twice. Skipped customers get a row too, with the
reason, so reports can say who was left out and why.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from customers.channels import Channel
from customers.models import Consent, Customer, Order

__all__ = [
    "Campaign",
    "CampaignRecipient",
    "Click",
    "Coupon",
    "CouponPool",
    "Gift",
    "GiftClaim",
    "GiftOffer",
    "Idea",
    "IdeaBoard",
    "IdeaVote",
    "JourneyPosition",
    "JourneyStep",
    "Poll",
    "PollOption",
    "Referral",
    "ReferralLink",
    "ReferralProgram",
    "SendTimeProfile",
    "SkipReason",
    "TrackedLink",
    "Variant",
    "Vote",
]


def new_code(length: int = 8) -> str:
    # No 0/O/1/I: codes are read aloud and typed from phones.
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def new_link_code() -> str:
    return secrets.token_urlsafe(6)


def new_claim_code() -> str:
    # 128 random bits: a gift link is a bearer token, whoever holds it can claim the gift.
    return secrets.token_urlsafe(16)


class CouponPool(models.Model):
    class Kind(models.TextChoices):
        GENERATED = "generated", _("Generated codes")
        UPLOADED = "uploaded", _("Uploaded codes")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.GENERATED)
    description = models.CharField(_("offer"), max_length=300, blank=True)
    prefix = models.CharField(_("code prefix"), max_length=12, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("coupon pool")
        verbose_name_plural = _("coupon pools")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class Coupon(models.Model):
    """One unique code; given to at most one customer, and each customer gets at most one
    code from a pool."""

    id = models.BigAutoField(primary_key=True)
    pool = models.ForeignKey(CouponPool, verbose_name=_("pool"), on_delete=models.CASCADE, related_name="coupons")
    code = models.CharField(_("code"), max_length=64)
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), null=True, blank=True, on_delete=models.CASCADE, related_name="coupons"
    )
    assigned_at = models.DateTimeField(_("assigned"), null=True, blank=True)
    redeemed_at = models.DateTimeField(_("redeemed"), null=True, blank=True)
    order = models.ForeignKey(Order, verbose_name=_("order"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        constraints = [
            models.UniqueConstraint(fields=["pool", "code"], name="coupon_unique_code"),
            models.UniqueConstraint(
                fields=["pool", "customer"], condition=Q(customer__isnull=False), name="coupon_one_per_customer"
            ),
        ]
        indexes = [models.Index(fields=["pool"], condition=Q(customer__isnull=True), name="coupon_free")]

    def __str__(self) -> str:
        return self.code


class Poll(models.Model):
    question = models.CharField(_("question"), max_length=500)
    slug = models.CharField(_("public code"), max_length=16, unique=True, default=new_link_code)
    is_open = models.BooleanField(_("open"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("poll")
        verbose_name_plural = _("polls")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.question


class PollOption(models.Model):
    poll = models.ForeignKey(Poll, verbose_name=_("poll"), on_delete=models.CASCADE, related_name="options")
    label = models.CharField(_("label"), max_length=200)
    # What a customer replies on the channel to choose it ("1", "A"…), matched case-insensitively.
    keyword = models.CharField(_("reply keyword"), max_length=32)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("poll option")
        verbose_name_plural = _("poll options")
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["poll", "keyword"], name="poll_option_unique_keyword")]

    def __str__(self) -> str:
        return self.label


class Vote(models.Model):
    class Source(models.TextChoices):
        REPLY = "reply", _("Reply on the channel")
        PAGE = "page", _("Hosted page")

    poll = models.ForeignKey(Poll, verbose_name=_("poll"), on_delete=models.CASCADE, related_name="votes")
    option = models.ForeignKey(PollOption, verbose_name=_("option"), on_delete=models.CASCADE, related_name="votes")
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="poll_votes")
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    voted_at = models.DateTimeField(_("voted"))

    class Meta:
        verbose_name = _("vote")
        verbose_name_plural = _("votes")
        constraints = [models.UniqueConstraint(fields=["poll", "customer"], name="vote_one_per_customer")]

    def __str__(self) -> str:
        return f"{self.poll_id}: {self.customer_id} → {self.option_id}"


class ReferralProgram(models.Model):
    class RewardOn(models.TextChoices):
        SIGNUP = "signup", _("Sign-up")
        PURCHASE = "purchase", _("First purchase")

    name = models.CharField(_("name"), max_length=200)
    reward_on = models.CharField(_("reward when the friend"), max_length=16, choices=RewardOn.choices, default=RewardOn.PURCHASE)
    reward = models.CharField(_("reward"), max_length=300, blank=True)
    landing_text = models.TextField(_("landing page text"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("referral program")
        verbose_name_plural = _("referral programs")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class ReferralLink(models.Model):
    """A customer's own link for one program."""

    program = models.ForeignKey(ReferralProgram, verbose_name=_("program"), on_delete=models.CASCADE, related_name="links")
    customer = models.ForeignKey(Customer, verbose_name=_("advocate"), on_delete=models.CASCADE, related_name="referral_links")
    code = models.CharField(_("code"), max_length=16, unique=True, default=new_link_code)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("referral link")
        verbose_name_plural = _("referral links")
        constraints = [models.UniqueConstraint(fields=["program", "customer"], name="referral_link_one_per_customer")]

    def __str__(self) -> str:
        return self.code


class Referral(models.Model):
    class Status(models.TextChoices):
        SIGNED_UP = "signed_up", _("Signed up")
        PURCHASED = "purchased", _("Purchased")

    program = models.ForeignKey(ReferralProgram, verbose_name=_("program"), on_delete=models.CASCADE, related_name="referrals")
    link = models.ForeignKey(ReferralLink, verbose_name=_("link"), on_delete=models.CASCADE, related_name="referrals")
    referrer = models.ForeignKey(Customer, verbose_name=_("advocate"), on_delete=models.CASCADE, related_name="referrals_made")
    referee = models.ForeignKey(Customer, verbose_name=_("friend"), on_delete=models.CASCADE, related_name="referred_by")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.SIGNED_UP)
    rewarded_at = models.DateTimeField(_("rewarded"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        constraints = [
            # A friend is referred once per program, and nobody refers themselves.
            models.UniqueConstraint(fields=["program", "referee"], name="referral_one_per_referee"),
            models.CheckConstraint(condition=~Q(referrer=F("referee")), name="referral_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.referrer_id} → {self.referee_id}"


class GiftOffer(models.Model):
    """What a customer can send a friend: a code from a coupon pool, or a named gift.

    `quantity` caps the gifts claimed (the stock); each customer may send `per_sender`
    gifts; a friend has `claim_days` to claim one, and never after `valid_until`."""

    name = models.CharField(_("name"), max_length=200)
    description = models.CharField(_("what the friend gets"), max_length=300, blank=True)
    coupon_pool = models.ForeignKey(
        CouponPool, verbose_name=_("coupon pool"), null=True, blank=True, on_delete=models.PROTECT, related_name="gift_offers"
    )
    quantity = models.PositiveIntegerField(_("gifts available"), null=True, blank=True)
    per_sender = models.PositiveSmallIntegerField(_("gifts each customer may send"), default=1)
    claim_days = models.PositiveSmallIntegerField(_("days a friend has to claim"), default=14)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("gift offer")
        verbose_name_plural = _("gift offers")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class IdeaBoard(models.Model):
    """A place where customers suggest ideas and vote on them (co-creation)."""

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    slug = models.CharField(_("public code"), max_length=16, unique=True, default=new_link_code)
    is_open = models.BooleanField(_("open"), default=True)
    moderated = models.BooleanField(_("new ideas need approval"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("idea board")
        verbose_name_plural = _("idea boards")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class Campaign(models.Model):
    class Kind(models.TextChoices):
        BROADCAST = "broadcast", _("One-off broadcast")
        SCHEDULED = "scheduled", _("Scheduled")
        RECURRING = "recurring", _("Recurring")
        TRIGGERED = "triggered", _("Triggered by segment entry")
        JOURNEY = "journey", _("Journey")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        PLANNING = "planning", _("Planning")
        SENDING = "sending", _("Sending")
        PAUSED = "paused", _("Paused")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    class MessageType(models.TextChoices):
        TEXT = "text", _("Text message")
        TEMPLATE = "template", _("Template message")
        EMAIL = "email", _("Email")

    class WinnerMetric(models.TextChoices):
        CLICKED = "clicked", _("Click rate")
        CONVERTED = "converted", _("Conversion rate")
        READ = "read", _("Read rate")

    class Recurrence(models.TextChoices):
        NONE = "", _("Does not repeat")
        DAILY = "daily", _("Every day")
        WEEKLY = "weekly", _("Every week")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.BROADCAST)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, default=Channel.WECHAT)
    message_type = models.CharField(_("message type"), max_length=16, choices=MessageType.choices, default=MessageType.TEXT)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Consent.Purpose.choices, default=Consent.Purpose.MARKETING)
    segments = models.ManyToManyField("segments.Segment", verbose_name=_("audience"), related_name="campaigns", blank=True)
    exclusion_segments = models.ManyToManyField(
        "segments.Segment", verbose_name=_("excluded"), related_name="excluded_from_campaigns", blank=True
    )
    # Schedule: first send (None = now), repeat, trigger segment.
    scheduled_at = models.DateTimeField(_("send at"), null=True, blank=True)
    recurrence = models.CharField(_("repeat"), max_length=16, choices=Recurrence.choices, default="", blank=True)
    next_run_at = models.DateTimeField(_("next run"), null=True, blank=True, editable=False)
    runs = models.PositiveIntegerField(_("runs"), default=0, editable=False)
    trigger_segment = models.ForeignKey(
        "segments.Segment", verbose_name=_("trigger: entering segment"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="triggered_campaigns",
    )
    trigger_cursor = models.BigIntegerField(default=0, editable=False)
    # Frequency policy, one across all channels, plus quiet hours in the customer's zone.
    frequency_cap = models.PositiveSmallIntegerField(_("at most N marketing messages"), default=3)
    frequency_days = models.PositiveSmallIntegerField(_("per N days"), default=7)
    quiet_start = models.PositiveSmallIntegerField(_("quiet hours from (hour)"), default=22)
    quiet_end = models.PositiveSmallIntegerField(_("quiet hours until (hour)"), default=8)
    timezone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    best_send_time = models.BooleanField(_("send at each customer's best hour"), default=False)
    send_rate = models.PositiveIntegerField(_("messages per second"), default=200)
    attribution_days = models.PositiveSmallIntegerField(_("attribution window (days)"), default=7)
    winner_metric = models.CharField(_("A/B winner by"), max_length=16, choices=WinnerMetric.choices, default=WinnerMetric.CLICKED)
    coupon_pool = models.ForeignKey(CouponPool, verbose_name=_("coupon pool"), null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns")
    poll = models.ForeignKey(Poll, verbose_name=_("poll"), null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns")
    referral_program = models.ForeignKey(
        ReferralProgram, verbose_name=_("referral program"), null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns"
    )
    gift_offer = models.ForeignKey(
        GiftOffer, verbose_name=_("gift offer"), null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns"
    )
    idea_board = models.ForeignKey(
        IdeaBoard, verbose_name=_("idea board"), null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns"
    )
    # The account the campaign sends through; empty = the brand's enabled connector for the
    # channel, chosen when the send starts.
    connector = models.ForeignKey(
        "channels.Connector", verbose_name=_("send through"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="campaigns",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    planned_at = models.DateTimeField(_("planned"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    problem = models.TextField(_("problem"), blank=True)
    # Where the brand's public pages live (https://acme.example), taken from the request
    # that started the send: workers have no request to build tracked links from.
    public_base_url = models.CharField(max_length=300, blank=True, editable=False)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_editable(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.SCHEDULED)


class Variant(models.Model):
    """What one A/B arm sends. Text fields may use {{ variable|fallback }} placeholders."""

    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(_("name"), max_length=32, default="A")
    split_percent = models.PositiveSmallIntegerField(_("share of recipients (%)"), default=100)
    text = models.TextField(_("text"), blank=True)
    image_url = models.URLField(_("image URL"), max_length=500, blank=True)
    link_url = models.URLField(_("link"), max_length=1000, blank=True)
    template_id = models.CharField(_("WeChat template ID"), max_length=100, blank=True)
    # {"first": "...", "keyword1": "...", "remark": "..."}: each value personalised like text.
    template_data = models.JSONField(_("WeChat template fields"), default=dict, blank=True)
    email_subject = models.CharField(_("email subject"), max_length=300, blank=True)
    email_html = models.TextField(_("email HTML body"), blank=True)
    is_winner = models.BooleanField(_("winner"), default=False)

    class Meta:
        verbose_name = _("variant")
        verbose_name_plural = _("variants")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class JourneyStep(models.Model):
    """One step of a journey: send a variant, wait, or branch on the customer's response."""

    class Action(models.TextChoices):
        SEND = "send", _("Send")
        WAIT = "wait", _("Wait")
        BRANCH = "branch", _("Branch")
        END = "end", _("End")

    class Condition(models.TextChoices):
        READ = "read", _("Opened the message")
        CLICKED = "clicked", _("Clicked a link")
        REPLIED = "replied", _("Replied")
        CONVERTED = "converted", _("Bought")

    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("position"))
    action = models.CharField(_("action"), max_length=8, choices=Action.choices)
    variant = models.ForeignKey(Variant, verbose_name=_("message"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    wait_hours = models.PositiveIntegerField(_("wait (hours)"), default=0)
    condition = models.CharField(_("if the customer"), max_length=16, choices=Condition.choices, blank=True)
    # Branch targets (positions); None = the next step / the end.
    if_true = models.PositiveSmallIntegerField(_("then go to step"), null=True, blank=True)
    if_false = models.PositiveSmallIntegerField(_("otherwise go to step"), null=True, blank=True)
    # How many customers a branch sent each way (advance_journey counts them as it moves
    # them; positions alone cannot tell once paths merge or customers move on).
    passed_true = models.PositiveIntegerField(default=0, editable=False)
    passed_false = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("journey step")
        verbose_name_plural = _("journey steps")
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["campaign", "position"], name="journey_step_unique_position")]

    def __str__(self) -> str:
        return f"{self.position}: {self.action}"


class JourneyPosition(models.Model):
    """Where one customer is in a journey, and when they are due to move on."""

    id = models.BigAutoField(primary_key=True)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="positions", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="journey_positions")
    position = models.PositiveSmallIntegerField()
    due_at = models.DateTimeField()
    entered_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "customer"], name="journey_position_unique")]
        indexes = [models.Index(fields=["campaign", "position", "due_at"], condition=Q(finished_at__isnull=True), name="journey_position_due")]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.customer_id} @ {self.position}"


class SkipReason(models.TextChoices):
    NO_CONSENT = "no_consent", _("No consent")
    FREQUENCY_CAP = "frequency_cap", _("Frequency cap")
    QUIET_HOURS = "quiet_hours", _("Quiet hours")
    PLATFORM_CAP = "platform_cap", _("Platform cap")
    DUPLICATE = "duplicate", _("Duplicate address")
    NO_IDENTITY = "no_identity", _("Not reachable on the channel")
    OUTSIDE_WINDOW = "outside_window", _("Outside the platform's reply window")


class CampaignRecipient(models.Model):
    """One customer at one step of one campaign (for a recurring campaign, `step` is the run).

    `message` holds what was rendered for the customer; `outbound_message` is the outbox row
    that delivers it (written in the same transaction that marks this row queued), and
    `status` how far it got: sent / failed come back from the outbox, delivered and read
    from the platform's receipts."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        SKIPPED = "skipped", _("Skipped")
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        READ = "read", _("Read")
        CLICKED = "clicked", _("Clicked")
        CONVERTED = "converted", _("Converted")
        FAILED = "failed", _("Failed")

    id = models.BigAutoField(primary_key=True)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="campaign_sends", db_index=False)
    step = models.PositiveIntegerField(default=0)
    variant = models.ForeignKey(Variant, null=True, blank=True, on_delete=models.SET_NULL, related_name="recipients",
                                db_index=False)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    address = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    skip_reason = models.CharField(max_length=16, choices=SkipReason.choices, blank=True)
    send_at = models.DateTimeField()
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)
    revenue = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    message = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    outbound_message = models.ForeignKey(
        "channels.OutboundMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False,
    )

    class Meta:
        verbose_name = _("campaign recipient")
        verbose_name_plural = _("campaign recipients")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "customer", "step"], name="campaign_recipient_once"),
        ]
        indexes = [
            models.Index(fields=["campaign", "status", "send_at"], name="campaign_recipient_status"),
            # The frequency cap and platform caps count a customer's recent sends.
            models.Index(fields=["customer", "send_at"], name="campaign_recipient_customer"),
            # Rows waiting for the outbox's answer (delivery.sync_outbox, every campaign at once).
            models.Index(fields=["campaign"], condition=Q(status="queued"), name="campaign_recipient_queued"),
            # The foreign keys' indexes hold only rows that have one: planning writes every
            # skipped row without a variant and every row without an outbox message, and a
            # full index on them cost a 1M-row plan ~3 s of the insert (they still serve
            # `variant_id = …` and the outbox joins, which imply NOT NULL).
            models.Index(fields=["variant"], condition=Q(variant__isnull=False), name="campaign_recipient_variant"),
            models.Index(fields=["outbound_message"], condition=Q(outbound_message__isnull=False),
                         name="campaign_recipient_outbound"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.customer_id}/{self.step}: {self.status}"


class SendTimeProfile(models.Model):
    """A customer's best hour (UTC, 0–23) from their own activity-hour histogram."""

    customer = models.OneToOneField(Customer, primary_key=True, on_delete=models.CASCADE, related_name="send_time")
    best_hour = models.PositiveSmallIntegerField()
    samples = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.best_hour}h"


class TrackedLink(models.Model):
    """A short link in a campaign message: /p/l/<code>/<recipient token> redirects to `url`."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="links")
    variant = models.ForeignKey(Variant, null=True, blank=True, on_delete=models.CASCADE, related_name="links")
    code = models.CharField(max_length=16, unique=True, default=new_link_code)
    url = models.URLField(max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("tracked link")
        verbose_name_plural = _("tracked links")
        constraints = [models.UniqueConstraint(fields=["variant", "url"], name="tracked_link_unique_url")]

    def __str__(self) -> str:
        return self.code


class Click(models.Model):
    id = models.BigAutoField(primary_key=True)
    link = models.ForeignKey(TrackedLink, on_delete=models.CASCADE, related_name="clicks")
    recipient = models.ForeignKey(CampaignRecipient, null=True, blank=True, on_delete=models.SET_NULL, related_name="clicks")
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="campaign_clicks")
    clicked_at = models.DateTimeField()
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("click")
        verbose_name_plural = _("clicks")

    def __str__(self) -> str:
        return f"{self.link_id} @ {self.clicked_at:%Y-%m-%d %H:%M}"


class Gift(models.Model):
    """One gift a customer sent: the claim code is the link they pass to a friend."""

    id = models.BigAutoField(primary_key=True)
    offer = models.ForeignKey(GiftOffer, verbose_name=_("gift offer"), on_delete=models.CASCADE, related_name="gifts")
    sender = models.ForeignKey(Customer, verbose_name=_("sender"), on_delete=models.CASCADE, related_name="gifts_sent")
    # The campaign whose message the sender came from (its report counts the gift).
    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), null=True, blank=True, on_delete=models.SET_NULL, related_name="gifts")
    code = models.CharField(_("claim code"), max_length=32, unique=True, default=new_claim_code)
    friend_name = models.CharField(_("friend's name"), max_length=100, blank=True)
    message = models.CharField(_("message to the friend"), max_length=300, blank=True)
    sent_at = models.DateTimeField(_("sent"))
    expires_at = models.DateTimeField(_("claim by"))

    class Meta:
        verbose_name = _("gift")
        verbose_name_plural = _("gifts")
        ordering = ["-sent_at", "-id"]
        indexes = [models.Index(fields=["offer", "sender"], name="gift_offer_sender")]

    def __str__(self) -> str:
        return f"{self.offer_id}: {self.sender_id}"


class GiftClaim(models.Model):
    """A friend's claim of one gift: one per code, and one per friend per offer."""

    id = models.BigAutoField(primary_key=True)
    gift = models.OneToOneField(Gift, verbose_name=_("gift"), on_delete=models.CASCADE, related_name="claim")
    offer = models.ForeignKey(GiftOffer, verbose_name=_("gift offer"), on_delete=models.CASCADE, related_name="claims")
    customer = models.ForeignKey(Customer, verbose_name=_("friend"), on_delete=models.CASCADE, related_name="gift_claims")
    coupon = models.ForeignKey(Coupon, verbose_name=_("coupon"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    claimed_at = models.DateTimeField(_("claimed"))

    class Meta:
        verbose_name = _("gift claim")
        verbose_name_plural = _("gift claims")
        constraints = [models.UniqueConstraint(fields=["offer", "customer"], name="gift_claim_one_per_friend")]

    def __str__(self) -> str:
        return f"{self.gift_id} → {self.customer_id}"


class Idea(models.Model):
    class Moderation(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        HIDDEN = "hidden", _("Hidden")

    class Status(models.TextChoices):
        NEW = "new", _("New")
        UNDER_REVIEW = "under_review", _("Under review")
        PLANNED = "planned", _("Planned")
        DONE = "done", _("Done")

    id = models.BigAutoField(primary_key=True)
    board = models.ForeignKey(IdeaBoard, verbose_name=_("idea board"), on_delete=models.CASCADE, related_name="ideas")
    customer = models.ForeignKey(Customer, verbose_name=_("author"), on_delete=models.CASCADE, related_name="ideas")
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("details"), blank=True)
    moderation = models.CharField(_("moderation"), max_length=16, choices=Moderation.choices, default=Moderation.PENDING)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.NEW)
    created_at = models.DateTimeField(_("submitted"))

    class Meta:
        verbose_name = _("idea")
        verbose_name_plural = _("ideas")
        indexes = [
            models.Index(fields=["board", "moderation"], name="idea_board_moderation"),
            # The submission limit counts a customer's recent ideas on a board.
            models.Index(fields=["customer", "board", "created_at"], name="idea_customer_recent"),
        ]

    def __str__(self) -> str:
        return self.title


class IdeaVote(models.Model):
    id = models.BigAutoField(primary_key=True)
    idea = models.ForeignKey(Idea, verbose_name=_("idea"), on_delete=models.CASCADE, related_name="votes")
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="idea_votes")
    voted_at = models.DateTimeField(_("voted"))

    class Meta:
        verbose_name = _("idea vote")
        verbose_name_plural = _("idea votes")
        constraints = [models.UniqueConstraint(fields=["idea", "customer"], name="idea_vote_one_per_customer")]

    def __str__(self) -> str:
        return f"{self.idea_id}: {self.customer_id}"
