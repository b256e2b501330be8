"""Unified customer profiles: one person, many identities, one timeline.

A Customer is the person; Identity rows are the handles platforms know them by (an
OpenID, an email, a phone). Interactions, orders and consents hang off the customer, so a
merge only repoints foreign keys. The aggregate columns on Customer (interaction counts,
order totals, first/last seen) are denormalized for segments and lists and are kept
current set-wise by `customers.services.refresh_customer_aggregates`.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from customers.channels import (
    SEARCHABLE_IDENTITY_KINDS,
    Channel,
    ConsentChannel,
    IdentityKind,
)

__all__ = [
    "AttributeDefinition",
    "Channel",
    "Consent",
    "ConsentChannel",
    "Customer",
    "CustomerTag",
    "DataRequest",
    "Identity",
    "IdentityKind",
    "ImportJob",
    "Interaction",
    "InteractionKind",
    "Merge",
    "MergeRule",
    "MergeSuggestion",
    "Note",
    "Order",
    "SEARCHABLE_IDENTITY_KINDS",
    "Tag",
]


# Not merged away, not erased: the rows every customer list shows.
LIVE_CUSTOMER = Q(merged_into__isnull=True, erased_at__isnull=True)


class Customer(models.Model):
    class Gender(models.TextChoices):
        UNKNOWN = "unknown", _("Unknown")
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")
        OTHER = "other", _("Other")

    id = models.BigAutoField(primary_key=True)
    display_name = models.CharField(_("display name"), max_length=200, blank=True)
    avatar_url = models.URLField(_("avatar URL"), max_length=500, blank=True)
    gender = models.CharField(
        _("gender"), max_length=16, choices=Gender.choices, default=Gender.UNKNOWN
    )
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    locale = models.CharField(_("locale"), max_length=16, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    province = models.CharField(_("province or state"), max_length=100, blank=True)
    country = models.CharField(
        _("country"), max_length=2, blank=True, help_text=_("ISO 3166-1 alpha-2 code.")
    )
    # Values for the brand's custom fields, keyed by AttributeDefinition.key.
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    first_seen_at = models.DateTimeField(_("first seen"), null=True, blank=True)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Set when this profile was merged into another; live customers have it null.
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_from",
    )
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True)

    # Aggregates, written only by refresh_customer_aggregates (set-wise, never per row).
    # interaction_counts: {"wechat": {"7": n, "30": n, "90": n}, ...}, inbound only.
    interaction_counts = models.JSONField(
        _("interactions per channel"), default=dict, blank=True, editable=False
    )
    total_interactions_30d = models.PositiveIntegerField(
        _("interactions in the last 30 days"), default=0, editable=False
    )
    order_count = models.PositiveIntegerField(_("paid orders"), default=0, editable=False)
    revenue = models.DecimalField(
        _("revenue"), max_digits=14, decimal_places=2, default=Decimal("0.00"), editable=False
    )
    last_order_at = models.DateTimeField(_("last order"), null=True, blank=True, editable=False)

    tags = models.ManyToManyField(
        "Tag", through="CustomerTag", related_name="customers", verbose_name=_("tags")
    )

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            # Serves contains / iregex / ILIKE / trigram similarity on the name. Not
            # icontains, which Django compiles to UPPER(col) LIKE: an OpClass(Upper(...))
            # index would need django.contrib.postgres in INSTALLED_APPS to render.
            GinIndex(
                fields=["display_name"], opclasses=["gin_trgm_ops"], name="customer_name_trgm"
            ),
            models.Index(fields=["last_seen_at"], name="customer_last_seen"),
            models.Index(fields=["city"], name="customer_city"),
            # One per list sort (customers.selectors.SORTS), in its exact order and only over
            # live customers: the first page is read off the index, never sorted (0004).
            models.Index(
                models.F("last_seen_at").desc(nulls_last=True), models.F("id").desc(),
                name="customer_live_last_seen", condition=LIVE_CUSTOMER,
            ),
            models.Index("display_name", "id", name="customer_live_name", condition=LIVE_CUSTOMER),
            models.Index(
                models.F("revenue").desc(), models.F("id").desc(),
                name="customer_live_revenue", condition=LIVE_CUSTOMER,
            ),
            models.Index(
                models.F("order_count").desc(), models.F("id").desc(),
                name="customer_live_orders", condition=LIVE_CUSTOMER,
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or _("Customer %(id)s") % {"id": self.pk}

    @property
    def is_live(self) -> bool:
        return self.merged_into_id is None and self.erased_at is None


class AttributeDefinition(models.Model):
    """A custom field a brand defines for its customers (values live in Customer.attributes)."""

    class Type(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        BOOL = "bool", _("Yes / no")
        CHOICE = "choice", _("Choice")

    key = models.SlugField(_("key"), max_length=64, unique=True)
    label = models.CharField(_("label"), max_length=200)
    type = models.CharField(_("type"), max_length=16, choices=Type.choices, default=Type.TEXT)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # Soft delete: stored values stay readable until the brand cleans them up.
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)

    class Meta:
        verbose_name = _("attribute definition")
        verbose_name_plural = _("attribute definitions")
        ordering = ["label"]

    def __str__(self) -> str:
        return self.label


class Identity(models.Model):
    """A handle a platform knows the customer by. One handle belongs to one customer."""

    Kind = IdentityKind

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="identities"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=IdentityKind.choices)
    # For wechat_openid: the official account's app id (an OpenID is per app); else "".
    scope = models.CharField(_("scope"), max_length=64, blank=True, default="")
    value = models.CharField(_("value"), max_length=255)
    verified = models.BooleanField(_("verified"), default=False)
    source = models.CharField(_("source"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("identity")
        verbose_name_plural = _("identities")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "scope", "value"], name="identity_unique_kind_scope_value"
            ),
        ]
        indexes = [
            # Partial: a trigram index over random platform ids would triple its size and
            # build time, and nobody searches for a fragment of an OpenID.
            GinIndex(
                fields=["value"],
                opclasses=["gin_trgm_ops"],
                condition=Q(kind__in=SEARCHABLE_IDENTITY_KINDS),
                name="identity_value_trgm",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=64, unique=True)
    color = models.CharField(_("colour"), max_length=7, default="#6b7280")

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CustomerTag(models.Model):
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="customer_tags",
        db_index=False,  # the (customer, tag) unique index serves it
    )
    tag = models.ForeignKey(
        Tag, verbose_name=_("tag"), on_delete=models.CASCADE, related_name="customer_tags"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("added by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    added_at = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer tag")
        verbose_name_plural = _("customer tags")
        constraints = [
            models.UniqueConstraint(fields=["customer", "tag"], name="customertag_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} · {self.tag_id}"


class Consent(models.Model):
    """One recorded permission change. Append-only: rows are never updated.

    The current consent for (customer, channel, purpose) is the latest row by recorded_at.
    """

    class Purpose(models.TextChoices):
        MARKETING = "marketing", _("Marketing")
        SERVICE = "service", _("Service")
        ANALYTICS = "analytics", _("Analytics")

    class Status(models.TextChoices):
        GRANTED = "granted", _("Granted")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="consents",
        db_index=False,  # the history index below starts with customer
    )
    channel = models.CharField(_("channel"), max_length=16, choices=ConsentChannel.choices)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    recorded_at = models.DateTimeField(_("recorded"))
    source = models.CharField(_("source"), max_length=64, blank=True)
    # What proves it: form and version, IP, message id, the agent who recorded it…
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        indexes = [
            models.Index(
                "customer",
                "channel",
                "purpose",
                models.F("recorded_at").desc(),
                name="consent_current",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.channel}/{self.purpose}: {self.status}"


class Order(models.Model):
    class Status(models.TextChoices):
        PAID = "paid", _("Paid")
        REFUNDED = "refunded", _("Refunded")
        CANCELLED = "cancelled", _("Cancelled")

    id = models.BigAutoField(primary_key=True)
    external_id = models.CharField(_("order number"), max_length=100, unique=True)
    # PROTECT: orders are accounting records; erasure anonymizes the customer instead.
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="orders",
        db_index=False,  # the (customer, -ordered_at) index below serves it
    )
    ordered_at = models.DateTimeField(_("ordered"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    # [{"sku": ..., "name": ..., "qty": ..., "price": "..."}]
    items = models.JSONField(_("items"), default=list, blank=True)
    store = models.CharField(_("store"), max_length=100, blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PAID
    )

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            models.Index("customer", models.F("ordered_at").desc(), name="order_customer_time"),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} ({self.amount} {self.currency})"


class InteractionKind(models.TextChoices):
    MESSAGE_IN = "message_in", _("Message received")
    MESSAGE_OUT = "message_out", _("Message sent")
    COMMENT = "comment", _("Comment")
    MENTION = "mention", _("Mention")
    LIKE = "like", _("Like")
    SHARE = "share", _("Share")
    FOLLOW = "follow", _("Follow")
    UNFOLLOW = "unfollow", _("Unfollow")
    CLICK = "click", _("Click")
    PAGE_VIEW = "page_view", _("Page view")
    PURCHASE = "purchase", _("Purchase")
    CAMPAIGN_DELIVERED = "campaign_delivered", _("Campaign delivered")
    CAMPAIGN_READ = "campaign_read", _("Campaign read")
    CAMPAIGN_CLICKED = "campaign_clicked", _("Campaign clicked")
    POLL_VOTE = "poll_vote", _("Poll vote")
    REFERRAL = "referral", _("Referral")
    GIFT_SENT = "gift_sent", _("Gift sent")
    GIFT_CLAIMED = "gift_claimed", _("Gift claimed")
    IDEA = "idea", _("Idea submitted")
    IDEA_VOTE = "idea_vote", _("Idea vote")


# What the brand did to the customer rather than what the customer did: not counted as
# activity in the aggregates (interaction counts, first/last seen).
OUTBOUND_INTERACTION_KINDS: frozenset[str] = frozenset(
    {InteractionKind.MESSAGE_OUT, InteractionKind.CAMPAIGN_DELIVERED}
)


class Interaction(models.Model):
    """One event on the customer's timeline. Written idempotently: a platform event carries
    its own id (external_id), unique per channel, so a redelivered webhook inserts nothing."""

    Kind = InteractionKind

    id = models.BigAutoField(primary_key=True)
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="interactions",
        db_index=False,  # the (customer, -occurred_at) index below serves it
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    kind = models.CharField(_("kind"), max_length=32, choices=InteractionKind.choices)
    occurred_at = models.DateTimeField(_("occurred"))
    text = models.TextField(_("text"), blank=True)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    sentiment = models.FloatField(_("sentiment"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=16, blank=True)
    external_id = models.CharField(_("external ID"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=~Q(external_id=""),
                name="interaction_unique_external_id",
            ),
        ]
        indexes = [
            models.Index(
                "customer", models.F("occurred_at").desc(), name="interaction_customer_time"
            ),
            # The referral/share graph (segments.scores): a few rows in millions, so the
            # score run reads its edges off this index instead of scanning the table.
            models.Index(
                fields=["customer"], name="interaction_graph_edge",
                condition=Q(kind="referral", metadata__has_any_keys=["referrer_id", "referred_id"])
                | Q(kind="share", metadata__has_key="shared_from_customer_id"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.channel} · {self.occurred_at:%Y-%m-%d %H:%M}"


class Note(models.Model):
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = models.TextField(_("body"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.body[:60]


# --- identity resolution and merges ------------------------------------------------------


class MergeRule(models.TextChoices):
    """Why two profiles became one: a deterministic rule, or a person's decision."""

    UNIONID = "unionid", _("Same WeChat UnionID")
    VERIFIED_EMAIL = "verified_email", _("Same verified email")
    VERIFIED_PHONE = "verified_phone", _("Same verified phone")
    MEMBER_ID = "member_id", _("Same membership number")
    SUGGESTION = "suggestion", _("Accepted suggestion")
    MANUAL = "manual", _("Merged by staff")


class Merge(models.Model):
    """One merge: `merged` was folded into `survivor`.

    `moved` records the primary keys of every row repointed (by table), and `attributes`
    the survivor's profile fields before the merge and the merged profile's fields, so
    an unmerge can put both people back as they were even after new activity arrived.
    """

    survivor = models.ForeignKey(
        Customer, verbose_name=_("survivor"), on_delete=models.CASCADE, related_name="merges_absorbed"
    )
    merged = models.ForeignKey(
        Customer, verbose_name=_("merged profile"), on_delete=models.CASCADE, related_name="merges_into"
    )
    rule = models.CharField(_("rule"), max_length=32, choices=MergeRule.choices)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    moved = models.JSONField(_("moved rows"), default=dict, blank=True)
    attributes = models.JSONField(_("attributes before"), default=dict, blank=True)
    created_at = models.DateTimeField(_("merged"), auto_now_add=True)
    undone_at = models.DateTimeField(_("unmerged"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("unmerged by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )

    class Meta:
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["survivor", "-created_at"]), models.Index(fields=["merged"])]

    def __str__(self) -> str:
        return f"{self.merged_id} → {self.survivor_id} ({self.rule})"


class MergeSuggestion(models.Model):
    """Two profiles that may be one person; a person accepts or dismisses, never code.

    Stored with `customer_a_id < customer_b_id` so a pair is suggested once."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACCEPTED = "accepted", _("Accepted")
        DISMISSED = "dismissed", _("Dismissed")

    customer_a = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    customer_b = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField(_("score"))
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(_("suggested"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("merge suggestion")
        verbose_name_plural = _("merge suggestions")
        ordering = ["-score"]
        constraints = [
            models.UniqueConstraint(fields=["customer_a", "customer_b"], name="merge_suggestion_pair"),
            models.CheckConstraint(condition=Q(customer_a__lt=models.F("customer_b")), name="merge_suggestion_ordered"),
        ]
        indexes = [
            models.Index(fields=["customer_a"], condition=Q(status="open"), name="merge_suggestion_open_a"),
            models.Index(fields=["customer_b"], condition=Q(status="open"), name="merge_suggestion_open_b"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_a_id} ~ {self.customer_b_id} ({self.score:.2f})"


# --- imports and data-subject requests -----------------------------------------------------


class ImportJob(models.Model):
    """A CSV or Excel file of customers or orders, mapped, previewed and loaded by Celery."""

    class Kind(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        ORDERS = "orders", _("Orders")

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.UPLOADED)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    options = models.JSONField(_("options"), default=dict, blank=True)
    total_rows = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    processed_rows = models.PositiveIntegerField(_("processed"), default=0)
    imported_rows = models.PositiveIntegerField(_("imported"), default=0)
    error_rows = models.PositiveIntegerField(_("rejected"), default=0)
    error_report = models.FileField(_("error report"), upload_to="imports/errors/%Y/%m/", blank=True)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.original_name}"

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, 100 * self.processed_rows // self.total_rows)


class DataRequest(models.Model):
    """A data-subject request (PIPL / GDPR): export everything about a person, or erase it.

    The subject is named by `subject_label` as well as by the foreign key, so the record
    still says whose request it was (pseudonymously) after an erasure."""

    class Kind(models.TextChoices):
        EXPORT = "export", _("Export")
        ERASE = "erase", _("Erase")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="data_requests"
    )
    subject_label = models.CharField(_("subject"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    file = models.FileField(_("file"), upload_to="data-requests/%Y/%m/", blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    class Meta:
        verbose_name = _("data request")
        verbose_name_plural = _("data requests")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.subject_label}"
