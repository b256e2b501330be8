"""Inbox models: conversations, messages, teams and agents, routing, SLA (issue 5), and the
listening monitors and mentions that feed it.

A Conversation is one thread per customer × connector. Its denormalized columns (last
message, unread count, SLA due times, queue position) are written only by
engagement.inbox.services, set-wise, so the agent list is one indexed query.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

__all__ = [
    "AgentProfile",
    "CannedReply",
    "Conversation",
    "CustomerNotice",
    "InboxMedia",
    "ListeningAlert",
    "ListeningAlertSettings",
    "Mention",
    "Message",
    "Monitor",
    "Priority",
    "Resolution",
    "RoutingRule",
    "SatisfactionSurvey",
    "SlaPolicy",
    "Team",
]


class Priority(models.IntegerChoices):
    LOW = 0, _("Low")
    NORMAL = 1, _("Normal")
    HIGH = 2, _("High")
    URGENT = 3, _("Urgent")


class Team(models.Model):
    class Strategy(models.TextChoices):
        ROUND_ROBIN = "round_robin", _("Round robin")
        LEAST_BUSY = "least_busy", _("Least busy")

    name = models.CharField(_("name"), max_length=100, unique=True)
    strategy = models.CharField(
        _("assignment"), max_length=16, choices=Strategy.choices, default=Strategy.LEAST_BUSY
    )
    # Conversations no routing rule sends elsewhere land here.
    is_default = models.BooleanField(_("default team"), default=False)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="inbox_teams", blank=True, verbose_name=_("members")
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="team_one_default"),
        ]

    def __str__(self) -> str:
        return self.name


class AgentProfile(models.Model):
    class Availability(models.TextChoices):
        ONLINE = "online", _("Online")
        AWAY = "away", _("Away")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile", verbose_name=_("user")
    )
    availability = models.CharField(
        _("availability"), max_length=8, choices=Availability.choices, default=Availability.AWAY
    )
    # Open conversations an agent holds at once; the queue waits beyond it.
    capacity = models.PositiveSmallIntegerField(_("capacity"), default=5)
    # Round robin takes the available agent assigned longest ago.
    last_assigned_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("agent profile")
        verbose_name_plural = _("agent profiles")

    def __str__(self) -> str:
        return f"{self.user} ({self.availability})"


class SlaPolicy(models.Model):
    """The brand's service levels: targets per priority inside its business hours.

    business_hours: {"0": [["09:00", "18:00"]], …} keyed by ISO weekday − 1 (Monday = 0);
    an empty object means round the clock. holidays: ["2026-10-01", …] (whole days off).
    """

    name = models.CharField(_("name"), max_length=100, default="Default")
    timezone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    business_hours = models.JSONField(_("business hours"), default=dict, blank=True)
    holidays = models.JSONField(_("holidays"), default=list, blank=True)
    # Minutes of business time, by priority value: {"0": 480, "1": 240, "2": 60, "3": 15}.
    first_response_minutes = models.JSONField(_("first response targets"), default=dict, blank=True)
    resolution_minutes = models.JSONField(_("resolution targets"), default=dict, blank=True)
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.UniqueConstraint(fields=["active"], condition=Q(active=True), name="slapolicy_one_active"),
        ]

    def __str__(self) -> str:
        return self.name


class RoutingRule(models.Model):
    """Conditions on a new or reopened conversation → priority, team, labels.

    Every condition that is set must hold (AND); lists inside a condition are any-of.
    Rules run in position order; the first rule that names a team decides the team, the
    highest priority among matching rules wins, labels accumulate.
    """

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    enabled = models.BooleanField(_("enabled"), default=True)
    channels = models.JSONField(_("channels"), default=list, blank=True)
    languages = models.JSONField(_("languages"), default=list, blank=True)
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    customer_tags = models.JSONField(_("customer tags"), default=list, blank=True)
    negative_sentiment = models.BooleanField(_("negative sentiment only"), default=False)
    set_priority = models.PositiveSmallIntegerField(
        _("set priority"), choices=Priority.choices, null=True, blank=True
    )
    set_team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("send to team")
    )
    add_labels = models.JSONField(_("add labels"), default=list, blank=True)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Conversation(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        PENDING = "pending", _("Pending")
        SNOOZED = "snoozed", _("Snoozed")
        RESOLVED = "resolved", _("Resolved")

    id = models.BigAutoField(primary_key=True)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="conversations",
        verbose_name=_("customer"), db_index=False,  # the unique (customer, connector) serves it
    )
    connector = models.ForeignKey(
        "channels.Connector", on_delete=models.CASCADE, related_name="conversations", verbose_name=_("connector")
    )
    channel = models.CharField(_("channel"), max_length=16)
    # The platform handle replies go to: the one the customer last wrote from.
    recipient = models.CharField(_("recipient"), max_length=255, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices, default=Priority.NORMAL)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="inbox_conversations", verbose_name=_("assignee"),
    )
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="conversations", verbose_name=_("team")
    )
    labels = models.JSONField(_("labels"), default=list, blank=True)
    language = models.CharField(_("language"), max_length=16, blank=True)
    # Mean sentiment of the latest inbound messages (−1 … 1).
    sentiment = models.FloatField(_("sentiment"), null=True, blank=True)
    # Set while the conversation waits for a free agent; the queue is ordered by
    # (−priority, queued_at).
    queued_at = models.DateTimeField(_("queued"), null=True, blank=True)
    # The oldest inbound message not answered yet; null when the brand spoke last.
    awaiting_since = models.DateTimeField(_("waiting since"), null=True, blank=True)
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    # The current wait missed its first-response target (set at reply or reassignment).
    sla_breached = models.BooleanField(_("SLA missed"), default=False)
    reassignments = models.PositiveSmallIntegerField(default=0)
    # When this episode opened (first message or reopening) and when it was resolved.
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    assigned_at = models.DateTimeField(_("assigned"), null=True, blank=True)
    snoozed_until = models.DateTimeField(_("snoozed until"), null=True, blank=True)
    last_message_at = models.DateTimeField(_("last message"), null=True, blank=True)
    last_inbound_at = models.DateTimeField(_("last inbound"), null=True, blank=True)
    last_message_preview = models.CharField(_("last message"), max_length=200, blank=True)
    unread_count = models.PositiveIntegerField(_("unread"), default=0)
    # The last "you are number N in line" notice: which wait it belonged to (its queued_at)
    # and the position it told; see engagement.inbox.notices for the rule.
    queue_notice_wait = models.DateTimeField(null=True, blank=True, editable=False)
    queue_notice_position = models.PositiveIntegerField(null=True, blank=True, editable=False)
    queue_notice_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Bumped on every change an agent must see; a reply must name the version it read.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        constraints = [
            models.UniqueConstraint(fields=["customer", "connector"], name="conversation_customer_connector"),
        ]
        indexes = [
            models.Index("status", models.F("last_message_at").desc(), name="conversation_status_recent"),
            models.Index("assignee", "status", name="conversation_assignee_status"),
            # "Mine", newest first, read in index order (no sort of an agent's whole backlog).
            models.Index("assignee", models.F("last_message_at").desc(), condition=Q(status__in=["open", "pending"]),
                         name="conversation_mine_recent"),
            models.Index(
                "team", models.F("priority").desc(), "queued_at",
                condition=Q(queued_at__isnull=False), name="conversation_queue",
            ),
            models.Index(fields=["first_response_due_at"], condition=Q(awaiting_since__isnull=False),
                         name="conversation_sla_due"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} · {self.channel}"


class Message(models.Model):
    class Direction(models.TextChoices):
        IN = "in", _("Inbound")
        OUT = "out", _("Outbound")
        NOTE = "note", _("Internal note")

    class Delivery(models.TextChoices):
        RECEIVED = "received", _("Received")
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    id = models.BigAutoField(primary_key=True)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages", verbose_name=_("conversation"),
        db_index=False,  # the (conversation, created_at) index serves it
    )
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices)
    interaction = models.OneToOneField(
        "customers.Interaction", on_delete=models.SET_NULL, null=True, blank=True, related_name="inbox_message"
    )
    text = models.TextField(_("text"), blank=True)
    # [{"type": "image"|"link", "url": …, "title": …}]
    attachments = models.JSONField(_("attachments"), default=list, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("author"),
    )
    delivery_status = models.CharField(
        _("delivery"), max_length=16, choices=Delivery.choices, default=Delivery.RECEIVED
    )
    delivery_error = models.TextField(_("delivery error"), blank=True)
    # An agent's reply goes out through the channels outbox; its row carries the delivery.
    outbound = models.OneToOneField(
        "channels.OutboundMessage", on_delete=models.SET_NULL, null=True, blank=True, related_name="inbox_message"
    )
    # Users named with @username in a note.
    mentions = models.JSONField(default=list, blank=True)
    # The reply form's one-time key: a resubmitted form never sends twice.
    client_key = models.CharField(max_length=64, blank=True)
    # On a reply that ended a wait: seconds since the wait began, and whether it met the
    # first-response target (reports read these, per agent and team).
    response_seconds = models.FloatField(null=True, blank=True)
    sla_met = models.BooleanField(null=True, blank=True)
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(fields=["client_key"], condition=~Q(client_key=""), name="message_client_key"),
        ]
        indexes = [models.Index(fields=["conversation", "created_at"], name="message_conversation_time")]

    def __str__(self) -> str:
        return f"{self.direction} · {self.text[:40]}"


class Resolution(models.Model):
    """One resolved episode of a conversation, kept for the reports."""

    id = models.BigAutoField(primary_key=True)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="resolutions")
    channel = models.CharField(max_length=16)
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(db_index=True)
    seconds = models.FloatField()
    sla_met = models.BooleanField()

    class Meta:
        verbose_name = _("resolution")
        verbose_name_plural = _("resolutions")

    def __str__(self) -> str:
        return f"{self.conversation_id} · {self.resolved_at:%Y-%m-%d %H:%M}"


class CannedReply(models.Model):
    """A saved answer; {{ customer.display_name|fallback }}-style variables are filled in
    by engagement.inbox.canned.render (never by the template engine)."""

    title = models.CharField(_("title"), max_length=100)
    shortcut = models.SlugField(_("shortcut"), max_length=40, blank=True)
    body = models.TextField(_("body"))

    class Meta:
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class Monitor(models.Model):
    """A listening query: `"exact phrase" OR word AND -excluded`, Chinese included."""

    name = models.CharField(_("name"), max_length=100)
    query = models.TextField(_("query"))
    channels = models.JSONField(_("channels"), default=list, blank=True)
    languages = models.JSONField(_("languages"), default=list, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("monitor")
        verbose_name_plural = _("monitors")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Mention(models.Model):
    id = models.BigAutoField(primary_key=True)
    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="mentions", db_index=False)
    interaction = models.ForeignKey(
        "customers.Interaction", on_delete=models.CASCADE, related_name="mentions"
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.SET_NULL, null=True, blank=True, related_name="mentions"
    )
    connector = models.ForeignKey(
        "channels.Connector", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    channel = models.CharField(_("channel"), max_length=16)
    author = models.CharField(_("author"), max_length=200, blank=True)
    reach = models.PositiveIntegerField(_("reach"), default=0)
    text = models.TextField(_("text"), blank=True)
    sentiment = models.FloatField(_("sentiment"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=16, blank=True)
    occurred_at = models.DateTimeField(_("occurred"))

    class Meta:
        verbose_name = _("mention")
        verbose_name_plural = _("mentions")
        constraints = [
            models.UniqueConstraint(fields=["monitor", "interaction"], name="mention_monitor_interaction"),
        ]
        indexes = [models.Index("monitor", models.F("occurred_at").desc(), name="mention_monitor_time")]

    def __str__(self) -> str:
        return f"{self.monitor_id} · {self.text[:40]}"


class CustomerNotice(models.Model):
    """The brand's wording of an automatic message to customers, per language. Variables
    in braces ({position}, {link}) are filled in by engagement.inbox.notices, never by the
    template engine; a missing notice falls back to the built-in wording."""

    class Kind(models.TextChoices):
        QUEUE_POSITION = "queue_position", _("Queue position")
        CSAT_REQUEST = "csat_request", _("Satisfaction request")

    class Language(models.TextChoices):
        ENGLISH = "en", _("English")
        CHINESE = "zh-hans", _("Simplified Chinese")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    body = models.TextField(_("wording"), max_length=1000)

    class Meta:
        verbose_name = _("customer notice")
        verbose_name_plural = _("customer notices")
        ordering = ["kind", "language"]
        constraints = [models.UniqueConstraint(fields=["kind", "language"], name="customernotice_kind_language")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.get_language_display()}"


class SatisfactionSurvey(models.Model):
    """The rating request sent when a conversation is resolved, and the customer's answer
    (a reply "1"–"5" on the channel, or a click on the hosted page)."""

    class Via(models.TextChoices):
        REPLY = "reply", _("Reply")
        LINK = "link", _("Link")

    id = models.BigAutoField(primary_key=True)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="surveys", db_index=False)
    resolution = models.OneToOneField(Resolution, on_delete=models.CASCADE, null=True, blank=True, related_name="survey")
    channel = models.CharField(_("channel"), max_length=16)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    outbound = models.OneToOneField(
        "channels.OutboundMessage", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested"))
    expires_at = models.DateTimeField(_("expires"))
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    rated_at = models.DateTimeField(_("rated"), null=True, blank=True, db_index=True)
    rated_via = models.CharField(_("rated by"), max_length=8, choices=Via.choices, blank=True)

    class Meta:
        verbose_name = _("satisfaction survey")
        verbose_name_plural = _("satisfaction surveys")
        constraints = [
            models.CheckConstraint(condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                                   name="survey_rating_1_to_5"),
        ]
        indexes = [models.Index("conversation", models.F("requested_at").desc(), name="survey_conversation_time")]

    def __str__(self) -> str:
        return f"{self.conversation_id} · {self.rating or '-'}"


class InboxMedia(models.Model):
    """An image an agent attached to a reply, stored in the brand's media.

    Served without login at /p/media/<token>/ on the brand's host (Meta fetches the image
    from that URL), so the token is the only name it has: random, never the upload's name.
    """

    id = models.BigAutoField(primary_key=True)
    # Null only for rows from before tokens existed (none were written: nothing used the model).
    token = models.CharField(max_length=64, unique=True, null=True, editable=False)  # noqa: DJ001 - NULLs never collide
    file = models.FileField(upload_to="inbox/%Y/%m/", max_length=200)
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("inbox image")
        verbose_name_plural = _("inbox images")

    def __str__(self) -> str:
        return self.file.name


class ListeningAlertSettings(models.Model):
    """Where and when listening alerts go (one row per brand; changes are audited)."""

    enabled = models.BooleanField(_("alerts enabled"), default=True)
    z_threshold = models.FloatField(_("z-score threshold"), default=3.0)
    min_volume = models.PositiveIntegerField(_("minimum mentions in the hour"), default=10)
    emails = models.TextField(_("email recipients"), blank=True, help_text=_("One address per line."))
    webhook_url = models.URLField(_("webhook URL"), blank=True, max_length=500)
    # Signs webhook bodies (HMAC-SHA256); generated once, shown to admins to verify with.
    webhook_secret = models.CharField(_("webhook signing secret"), max_length=64, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("listening alert settings")
        verbose_name_plural = _("listening alert settings")

    def __str__(self) -> str:
        return str(_("Listening alert settings"))

    def recipients(self) -> list[str]:
        return [line.strip() for line in self.emails.splitlines() if line.strip()]


class ListeningAlert(models.Model):
    """A monitor's last hour well above its baseline (volume or negative share)."""

    class Kind(models.TextChoices):
        VOLUME = "volume", _("Volume")
        NEGATIVE = "negative", _("Negative share")

    class Delivery(models.TextChoices):
        NONE = "", _("Not configured")
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    id = models.BigAutoField(primary_key=True)
    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="alerts", db_index=False)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # The clock hour the alert belongs to: one alert per monitor, kind and hour.
    hour = models.DateTimeField(_("hour"))
    window_end = models.DateTimeField(_("window end"))
    volume = models.PositiveIntegerField(_("mentions in the hour"))
    observed = models.FloatField(_("observed"))
    baseline_mean = models.FloatField(_("baseline mean"))
    baseline_std = models.FloatField(_("baseline deviation"))
    z_score = models.FloatField(_("z-score"))
    email_status = models.CharField(max_length=8, choices=Delivery.choices, blank=True)
    webhook_status = models.CharField(max_length=8, choices=Delivery.choices, blank=True)
    webhook_attempts = models.PositiveSmallIntegerField(default=0)
    delivery_error = models.TextField(blank=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("listening alert")
        verbose_name_plural = _("listening alerts")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["monitor", "kind", "hour"], name="listeningalert_monitor_kind_hour"),
        ]
        indexes = [models.Index(models.F("created_at").desc(), name="listeningalert_recent")]

    def __str__(self) -> str:
        return f"{self.monitor_id} · {self.kind} · {self.hour:%Y-%m-%d %H}"
