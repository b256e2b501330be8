"""Segments (a rule or a list, materialized as memberships with entered/left history) and
scores (one row per customer, components kept so a page can say why).

Membership and scores are written set-wise by segments.services and segments.scores; no
code here loops over customers.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from customers.models import Customer


class Segment(models.Model):
    class Kind(models.TextChoices):
        DYNAMIC = "dynamic", _("Dynamic (kept up to date)")
        STATIC = "static", _("Static (a snapshot or a list)")

    class Status(models.TextChoices):
        IDLE = "idle", _("Up to date")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Refreshing")
        FAILED = "failed", _("Failed")

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    # A rule tree, see segments.rules. Static list segments keep {} here.
    rule = models.JSONField(_("rule"), default=dict, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.DYNAMIC)
    size = models.PositiveIntegerField(_("size"), default=0)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.IDLE)
    # Why the segment cannot be refreshed (a deleted attribute, a cycle…); "" when healthy.
    problem = models.TextField(_("problem"), blank=True)
    last_refreshed_at = models.DateTimeField(_("last refreshed"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class SegmentMembership(models.Model):
    segment = models.ForeignKey(
        Segment, on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="segment_memberships")
    entered_at = models.DateTimeField(_("entered"))

    class Meta:
        verbose_name = _("segment membership")
        verbose_name_plural = _("segment memberships")
        constraints = [
            models.UniqueConstraint(fields=["segment", "customer"], name="segment_membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.segment_id} ∋ {self.customer_id}"


class MembershipEvent(models.Model):
    """A customer entered or left a segment: history for the page, triggers for campaigns."""

    class Kind(models.TextChoices):
        ENTERED = "entered", _("Entered")
        LEFT = "left", _("Left")

    id = models.BigAutoField(primary_key=True)
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="events", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("membership event")
        verbose_name_plural = _("membership events")
        indexes = [models.Index("segment", models.F("at").desc(), name="membership_event_segment_at")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.kind} {self.segment_id}"


class SegmentSize(models.Model):
    """The size after each refresh, for "size over time"."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="sizes", db_index=False)
    at = models.DateTimeField(_("at"))
    size = models.PositiveIntegerField(_("size"))
    entered = models.PositiveIntegerField(_("entered"), default=0)
    left = models.PositiveIntegerField(_("left"), default=0)

    class Meta:
        verbose_name = _("segment size")
        verbose_name_plural = _("segment sizes")
        indexes = [models.Index(fields=["segment", "at"], name="segment_size_segment_at")]

    def __str__(self) -> str:
        return f"{self.segment_id}: {self.size}"


# --- scores ------------------------------------------------------------------------------


class RFMGroup(models.TextChoices):
    CHAMPIONS = "champions", _("Champions")
    LOYAL = "loyal", _("Loyal")
    POTENTIAL = "potential", _("Potential loyalists")
    NEW = "new", _("New")
    AT_RISK = "at_risk", _("At risk")
    CANT_LOSE = "cant_lose", _("Can't lose")
    HIBERNATING = "hibernating", _("Hibernating")
    LOST = "lost", _("Lost")
    NONE = "none", _("No purchases")


class Lifecycle(models.TextChoices):
    NEW = "new", _("New")
    GROWING = "growing", _("Growing")
    MATURE = "mature", _("Mature")
    DECLINING = "declining", _("Declining")
    LAPSED = "lapsed", _("Lapsed")


class Participation(models.TextChoices):
    CREATOR = "creator", _("Creator")
    OCCASIONAL = "occasional", _("Occasional participant")
    SILENT = "silent", _("Silent observer")
    INACTIVE = "inactive", _("Inactive")


class Tier(models.TextChoices):
    KEY = "key", _("Key")
    MIDDLE = "middle", _("Middle")
    LOW = "low", _("Low")


class CustomerScore(models.Model):
    """Every score of one customer, with the figures it came from."""

    customer = models.OneToOneField(
        Customer, primary_key=True, on_delete=models.CASCADE, related_name="score"
    )
    # RFM: raw figures (paid orders), quintiles 1–5 (5 best), and the classic group.
    recency_days = models.IntegerField(_("days since last order"), null=True)
    frequency = models.IntegerField(_("orders"), default=0)
    monetary = models.DecimalField(_("revenue"), max_digits=14, decimal_places=2, default=0)
    r = models.SmallIntegerField(_("R"), default=0)
    f = models.SmallIntegerField(_("F"), default=0)
    m = models.SmallIntegerField(_("M"), default=0)
    rfm_group = models.CharField(_("RFM group"), max_length=16, choices=RFMGroup.choices, default=RFMGroup.NONE)
    # Activity: time-decayed weighted interactions.
    activity = models.FloatField(_("activity"), default=0)
    # Social influence and its parts.
    reach = models.FloatField(_("reach"), default=0)
    shares = models.IntegerField(_("shares"), default=0)
    mentions = models.IntegerField(_("mentions"), default=0)
    referrals_converted = models.IntegerField(_("referrals that converted"), default=0)
    centrality = models.FloatField(_("centrality"), default=0)
    influence = models.FloatField(_("influence"), default=0)
    # Participation: what the customer wrote vs what they only received or read.
    authored = models.IntegerField(_("authored interactions"), default=0)
    passive = models.IntegerField(_("passive interactions"), default=0)
    participation = models.CharField(
        _("participation"), max_length=16, choices=Participation.choices, default=Participation.INACTIVE
    )
    lifecycle = models.CharField(_("lifecycle stage"), max_length=16, choices=Lifecycle.choices, default=Lifecycle.NEW)
    # Composite value (0–100) and its tier.
    value = models.FloatField(_("value"), default=0)
    tier = models.CharField(_("tier"), max_length=8, choices=Tier.choices, default=Tier.LOW)
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        verbose_name = _("customer score")
        verbose_name_plural = _("customer scores")
        indexes = [
            models.Index(fields=["tier"], name="score_tier"),
            models.Index(fields=["lifecycle"], name="score_lifecycle"),
            models.Index(fields=["rfm_group"], name="score_rfm_group"),
            models.Index(fields=["participation"], name="score_participation"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.tier}"


def default_kind_weights() -> dict[str, float]:
    return {
        "message_in": 3, "comment": 3, "mention": 4, "share": 4, "referral": 5, "poll_vote": 2,
        "like": 1, "follow": 1, "click": 1, "page_view": 0.5, "campaign_read": 0.5,
        "campaign_clicked": 1, "purchase": 5, "unfollow": -2,
    }  # fmt: skip


class ScoringSettings(models.Model):
    """The brand's scoring knobs (one row per brand schema)."""

    half_life_days = models.PositiveIntegerField(_("activity half-life (days)"), default=30)
    kind_weights = models.JSONField(_("weight per interaction kind"), default=default_kind_weights)
    weight_consumption = models.FloatField(_("weight of consumption value"), default=0.5)
    weight_social = models.FloatField(_("weight of social value"), default=0.25)
    weight_activity = models.FloatField(_("weight of activity"), default=0.25)
    key_percent = models.PositiveSmallIntegerField(_("key tier: top percent"), default=10)
    middle_percent = models.PositiveSmallIntegerField(_("middle tier: next percent"), default=40)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("scoring settings")
        verbose_name_plural = _("scoring settings")

    def __str__(self) -> str:
        return str(_("Scoring settings"))

    @classmethod
    def current(cls) -> ScoringSettings:
        settings_row = cls.objects.order_by("id").first()
        return settings_row or cls.objects.create()


class SocialCapitalSnapshot(models.Model):
    """The brand's customer social-capital KPIs on one day, and the dashboard's breakdowns
    (precomputed with the scores, so the dashboard reads one row at any brand size)."""

    day = models.DateField(_("day"), unique=True)
    customers = models.PositiveIntegerField(_("customers"), default=0)
    trust = models.FloatField(_("trust"), default=0)  # positive share of scored sentiment
    consent_rate = models.FloatField(_("marketing consent rate"), default=0)
    relationship_strength = models.FloatField(_("relationship strength"), default=0)
    activity = models.FloatField(_("average activity"), default=0)
    revenue_per_customer = models.FloatField(_("revenue per customer"), default=0)
    referrals_per_customer = models.FloatField(_("referrals per customer"), default=0)
    breakdown = models.JSONField(_("breakdown"), default=dict)
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        verbose_name = _("social-capital snapshot")
        verbose_name_plural = _("social-capital snapshots")
        ordering = ["day"]


    def __str__(self) -> str:
        return str(self.day)
