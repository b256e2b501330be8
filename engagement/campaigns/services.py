"""Writes for campaigns: save, start, send in claimed batches, pause/resume/cancel, offers
(coupons, polls, referrals, gifts, idea boards) and tracking (clicks, replies, conversions).

Sending claims planned rows with FOR UPDATE SKIP LOCKED and, in the same transaction that
renders them, marks them queued and writes their channels outbox rows, so a crash either
leaves a row planned (sent later, once) or queued with its one outbox row (never queued
again); the outbox delivers each row at most once (engagement.campaigns.delivery).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from psycopg.types.json import Jsonb

from channels import outbox
from customers.consent import preference_token
from customers.models import Customer, Interaction, InteractionKind, Order
from engagement.campaigns import delivery, journeys, personalize, planning
from engagement.campaigns.models import (
    Campaign,
    CampaignRecipient,
    Click,
    Coupon,
    CouponPool,
    Gift,
    GiftClaim,
    GiftOffer,
    Idea,
    IdeaBoard,
    IdeaVote,
    JourneyPosition,
    JourneyStep,
    Poll,
    PollOption,
    Referral,
    ReferralLink,
    ReferralProgram,
    TrackedLink,
    Variant,
    Vote,
    new_code,
)
from scrm.db import execute_bound
from scrm.staff.services import record_audit

logger = logging.getLogger(__name__)

Status = Campaign.Status
RStatus = CampaignRecipient.Status
# A reply or vote counts for a campaign this long after the message went out.
REPLY_WINDOW = timedelta(days=3)
# A referral counts only for someone who became a customer through it (just now).
NEW_CUSTOMER_WINDOW = timedelta(hours=1)
# Funnel order: a later status never moves back to an earlier one.
FUNNEL = ("planned", "queued", "sent", "delivered", "read", "clicked", "converted")


class CampaignError(ValueError):
    """The campaign cannot make this move (wrong status, nothing to send…)."""


def _t(model: type) -> str:
    return connection.ops.quote_name(model._meta.db_table)


# --- save -----------------------------------------------------------------------------


@transaction.atomic
def save_campaign(
    *, campaign: Campaign | None, fields: dict[str, Any], segments: Iterable[Any], exclusions: Iterable[Any],
    variants: Sequence[dict[str, Any]], actor: User | None,
) -> Campaign:
    """Create or edit a draft campaign with its audience and A/B variants (by name)."""
    if campaign is not None and not campaign.is_editable:
        raise CampaignError(_("only a draft or scheduled campaign can be edited"))
    campaign = campaign or Campaign(created_by=actor)
    for name, value in fields.items():
        setattr(campaign, name, value)
    campaign.full_clean(exclude=["created_by"])
    campaign.save()
    campaign.segments.set(list(segments))
    campaign.exclusion_segments.set(list(exclusions))
    kept = []
    for data in variants:
        variant, _created = Variant.objects.update_or_create(campaign=campaign, name=data["name"], defaults=data)
        kept.append(variant.pk)
    campaign.variants.exclude(pk__in=kept).delete()
    record_audit(actor=actor, action="campaign.save", obj=campaign, changes={"name": campaign.name})
    return campaign


@transaction.atomic
def save_journey(*, campaign: Campaign, steps: Sequence[dict[str, Any]], actor: User | None = None) -> list[JourneyStep]:
    """Replace a draft journey's steps ({action, variant, wait_hours, condition, if_true,
    if_false}); raises journeys.JourneyProblems, saving nothing, if they break a rule."""
    if not campaign.is_editable:
        raise CampaignError(_("only a draft journey can be edited"))
    if campaign.kind != Campaign.Kind.JOURNEY:
        raise CampaignError(_("only a journey campaign has steps"))
    found = journeys.problems(steps, campaign_id=campaign.pk)
    if found:
        raise journeys.JourneyProblems(found)
    campaign.steps.all().delete()
    saved = JourneyStep.objects.bulk_create(
        [JourneyStep(campaign=campaign, position=index, **step) for index, step in enumerate(steps)]
    )
    record_audit(actor=actor, action="campaign.journey.save", obj=campaign, changes={"steps": len(saved)})
    return saved


def edit_journey(
    *, campaign: Campaign, change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]], actor: User | None,
) -> list[JourneyStep]:
    """Apply one builder edit (a journeys.insert_step / replace_step / delete_step / move_step
    bound to its arguments) to the saved steps, with the campaign locked so two editors
    never interleave."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        return save_journey(campaign=campaign, steps=change(journeys.steps_of(campaign)), actor=actor)


# --- start, plan, send ------------------------------------------------------------------


def start_campaign(*, campaign: Campaign, actor: User | None, public_base_url: str) -> Campaign:
    """Schedule the campaign, or plan and send it now (planning runs in a task)."""
    from engagement.campaigns.tasks import plan_campaign_task

    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status not in (Status.DRAFT, Status.SCHEDULED):
            raise CampaignError(_("this campaign has already started"))
        if not campaign.variants.exists():
            raise CampaignError(_("add a message before sending"))
        if campaign.kind == Campaign.Kind.TRIGGERED and campaign.trigger_segment_id is None:
            raise CampaignError(_("choose the segment that triggers the campaign"))
        if campaign.kind != Campaign.Kind.TRIGGERED and not campaign.segments.exists():
            raise CampaignError(_("choose at least one audience segment"))
        if campaign.kind == Campaign.Kind.JOURNEY:
            _check_journey_can_start(campaign)
        connector = delivery.campaign_connector(campaign)
        if connector is None:
            raise CampaignError(_("connect an enabled account for this channel before sending"))
        campaign.connector = connector
        campaign.public_base_url = public_base_url.rstrip("/")
        now = timezone.now()
        later = campaign.scheduled_at is not None and campaign.scheduled_at > now
        campaign.status = Status.SCHEDULED if later else Status.PLANNING
        campaign.next_run_at = campaign.scheduled_at if later else now
        if campaign.kind == Campaign.Kind.TRIGGERED:
            # Only people who enter the segment from now on.
            from segments.models import MembershipEvent

            campaign.trigger_cursor = (
                MembershipEvent.objects.filter(segment_id=campaign.trigger_segment_id).order_by("-id").values_list("id", flat=True).first() or 0
            )
        campaign.save()
        record_audit(actor=actor, action="campaign.start", obj=campaign, changes={"status": campaign.status})
        if not later:
            transaction.on_commit(lambda: plan_campaign_task.delay(campaign.pk))
    return campaign


def _check_journey_can_start(campaign: Campaign) -> None:
    steps = journeys.steps_of(campaign)
    if not any(step["action"] == JourneyStep.Action.SEND for step in steps):
        raise CampaignError(_("add at least one send step to the journey before starting it"))
    found = journeys.problems(steps, campaign_id=campaign.pk)
    if found:
        raise CampaignError(_("fix the journey before starting it: %(problem)s") % {"problem": found[0].message})


def _ensure_links(campaign: Campaign) -> None:
    for variant in campaign.variants.exclude(link_url=""):
        TrackedLink.objects.get_or_create(campaign=campaign, variant=variant, url=variant.link_url)


def plan_campaign(campaign_id: int, *, now: datetime | None = None) -> planning.PlanResult | None:
    """Plan the next run of a campaign that is due (idempotent: planned customers stay)."""
    now = now or timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None or campaign.status not in (Status.PLANNING, Status.SCHEDULED, Status.SENDING):
            return None
        _ensure_links(campaign)
        result = planning.PlanResult()
        if campaign.kind == Campaign.Kind.JOURNEY:
            enter_journey(campaign, planning.segment_audience(campaign), now=now)
            result = advance_journey(campaign, now=now)
        elif campaign.kind == Campaign.Kind.TRIGGERED:
            result = _plan_trigger(campaign, now=now)
        else:
            step = campaign.runs if campaign.kind == Campaign.Kind.RECURRING else 0
            start = max(now, campaign.scheduled_at or now) if campaign.kind != Campaign.Kind.RECURRING else now
            result = planning.plan_recipients(campaign, planning.segment_audience(campaign), step=step, start=start)
            assign_coupons(campaign, step=step, now=now)
        campaign.runs += 1 if campaign.kind in (Campaign.Kind.RECURRING, Campaign.Kind.BROADCAST, Campaign.Kind.SCHEDULED) else 0
        campaign.next_run_at = _next_run(campaign, now)
        campaign.status = Status.SENDING
        campaign.planned_at = now
        campaign.started_at = campaign.started_at or now
        campaign.save()
    return result


def _next_run(campaign: Campaign, now: datetime) -> datetime | None:
    if campaign.kind == Campaign.Kind.RECURRING:
        return now + (timedelta(days=7) if campaign.recurrence == Campaign.Recurrence.WEEKLY else timedelta(days=1))
    return None


def _plan_trigger(campaign: Campaign, *, now: datetime) -> planning.PlanResult:
    from segments.models import MembershipEvent

    last = MembershipEvent.objects.filter(segment_id=campaign.trigger_segment_id).order_by("-id").values_list("id", flat=True).first() or 0
    if last <= campaign.trigger_cursor:
        return planning.PlanResult()
    audience = planning.trigger_audience(campaign, after_event=campaign.trigger_cursor, up_to_event=last)
    result = planning.plan_recipients(campaign, audience, step=0, start=now)
    assign_coupons(campaign, step=0, now=now)
    campaign.trigger_cursor = last
    return result


def assign_coupons(campaign: Campaign, *, step: int, now: datetime) -> int:
    """Give every planned recipient without one a free code from the campaign's pool (one
    statement; a generated pool grows to cover the shortfall first)."""
    pool = campaign.coupon_pool
    if pool is None:
        return 0
    CouponPool.objects.select_for_update().filter(pk=pool.pk).first()  # one assigner per pool at a time
    recipients, coupons = _t(CampaignRecipient), _t(Coupon)
    need_sql = f"""
        SELECT r.customer_id FROM {recipients} r
         WHERE r.campaign_id = %(campaign)s AND r.step = %(step)s AND r.status = 'planned'
           AND NOT EXISTS (SELECT 1 FROM {coupons} c WHERE c.pool_id = %(pool)s AND c.customer_id = r.customer_id)
    """
    params = {"campaign": campaign.pk, "step": step, "pool": pool.pk, "now": now}
    with connection.cursor() as cursor:
        if pool.kind == CouponPool.Kind.GENERATED:
            cursor.execute(
                f"SELECT (SELECT count(*) FROM ({need_sql}) n) - "
                f"(SELECT count(*) FROM {coupons} WHERE pool_id = %(pool)s AND customer_id IS NULL)", params,
            )
            shortfall = cursor.fetchone()[0]
            if shortfall > 0:
                generate_coupons(pool=pool, count=shortfall)
        cursor.execute(
            f"""
            WITH need AS (SELECT customer_id, row_number() OVER (ORDER BY customer_id) AS rn FROM ({need_sql}) n),
                 free AS (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM {coupons}
                           WHERE pool_id = %(pool)s AND customer_id IS NULL)
            UPDATE {coupons} c SET customer_id = need.customer_id, assigned_at = %(now)s
              FROM need JOIN free ON free.rn = need.rn
             WHERE c.id = free.id
            """,
            params,
        )
        return cursor.rowcount


def generate_coupons(*, pool: CouponPool, count: int) -> int:
    """Add `count` new unique random codes (set-wise; collisions are retried)."""
    made = 0
    with connection.cursor() as cursor:
        for _attempt in range(5):
            cursor.execute(
                f"""INSERT INTO {_t(Coupon)} (pool_id, code)
                    SELECT %(pool)s, %(prefix)s || upper(substr(replace(gen_random_uuid()::text, '-', ''), 1, 12))
                      FROM generate_series(1, %(n)s)
                    ON CONFLICT (pool_id, code) DO NOTHING""",
                {"pool": pool.pk, "prefix": pool.prefix, "n": count - made},
            )
            made += cursor.rowcount
            if made >= count:
                break
    return made


_CODE = re.compile(r"^[A-Za-z0-9_-]{3,64}$")


def upload_coupons(*, pool: CouponPool, codes: Iterable[str]) -> tuple[int, int]:
    """Add uploaded codes; returns (added, rejected). Duplicates and malformed codes are rejected."""
    clean = {code.strip() for code in codes if code.strip()}
    good = sorted(code for code in clean if _CODE.match(code))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_t(Coupon)} (pool_id, code) SELECT %s, unnest(%s::text[]) ON CONFLICT (pool_id, code) DO NOTHING",
            [pool.pk, good],
        )
        added = cursor.rowcount if good else 0
    return added, len(clean) - added


def redeem_coupon(*, code: str, order: Order | None = None, customer: Customer | None = None, now: datetime | None = None) -> Coupon:
    """Mark a coupon used, once. The order (or the customer) must be the coupon's holder."""
    now = now or timezone.now()
    with transaction.atomic():
        coupon = Coupon.objects.select_for_update().filter(code=code.strip()).order_by("-id").first()
        if coupon is None:
            raise CampaignError(_("unknown coupon code"))
        holder = order.customer_id if order is not None else (customer.pk if customer else None)
        if coupon.customer_id is None or coupon.customer_id != holder:
            raise CampaignError(_("this coupon belongs to someone else"))
        if coupon.redeemed_at is not None:
            raise CampaignError(_("this coupon was already used"))
        if coupon.pool.valid_until and coupon.pool.valid_until < now:
            raise CampaignError(_("this coupon has expired"))
        coupon.redeemed_at, coupon.order = now, order
        coupon.save(update_fields=["redeemed_at", "order"])
        # The redemption converts the customer's sends of campaigns offering this pool.
        CampaignRecipient.objects.filter(
            campaign__coupon_pool_id=coupon.pool_id, customer_id=coupon.customer_id, converted_at__isnull=True,
            queued_at__isnull=False,
        ).update(converted_at=now, status=RStatus.CONVERTED, revenue=order.amount if order else Decimal("0"))
    return coupon


def send_batch(campaign_id: int, *, limit: int | None = None, now: datetime | None = None) -> int:
    """Render and queue up to `limit` due recipients; returns how many were queued."""
    now = now or timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.filter(pk=campaign_id).first()
        if campaign is None or campaign.status != Status.SENDING:
            return 0
        connector = delivery.campaign_connector(campaign)
        if connector is None:
            _pause_for_problem(campaign, _("No enabled account to send through on this channel: enable or connect one, then resume."))
            return 0
        rows = list(
            CampaignRecipient.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(campaign=campaign, status=RStatus.PLANNED, send_at__lte=now)
            .select_related("customer", "variant")
            .order_by("id")[: limit or campaign.send_rate]
        )
        if not rows:
            return 0
        customer_ids = [row.customer_id for row in rows]
        coupons = dict(
            Coupon.objects.filter(pool_id=campaign.coupon_pool_id, customer_id__in=customer_ids).values_list("customer_id", "code")
        ) if campaign.coupon_pool_id else {}
        links = {link.variant_id: link for link in campaign.links.all()}
        referral_codes = _referral_codes(campaign, customer_ids)
        base = campaign.public_base_url
        for row in rows:
            variables = personalize.customer_variables(row.customer)
            token = recipient_token(row.pk)
            if row.customer_id in coupons:
                variables["coupon"] = coupons[row.customer_id]
            if row.variant_id in links:
                variables["link"] = base + reverse("engagement:public-link", args=[links[row.variant_id].code, token])
            if campaign.poll_id:
                variables["poll_link"] = base + reverse("engagement:public-poll", args=[campaign.poll.slug, token])
            variables["preferences_link"] = base + reverse("customers:preference-center", args=[preference_token(row.customer)])
            if row.customer_id in referral_codes:
                variables["referral_link"] = base + reverse("engagement:public-referral", args=[referral_codes[row.customer_id]])
            if campaign.gift_offer_id:
                variables["gift_link"] = base + reverse("engagement:public-gift-send", args=[token])
            if campaign.idea_board_id:
                variables["ideas_link"] = base + reverse("engagement:public-ideas", args=[campaign.idea_board.slug, token])
            row.message = personalize.render_message(row.variant, campaign.message_type, variables) if row.variant else {}
            row.status, row.queued_at = RStatus.QUEUED, now
        messages = outbox.queue_messages(
            [delivery.outbound_message(connector=connector, row=row, purpose=campaign.purpose) for row in rows]
        )
        for row, message in zip(rows, messages, strict=True):
            row.outbound_message_id = message.pk
        _mark_queued(rows, now=now)
    return len(rows)


def _mark_queued(rows: Sequence[CampaignRecipient], *, now: datetime) -> None:
    """One UPDATE … FROM unnest for the whole batch (bulk_update's CASE per row and
    column makes PostgreSQL compare every row with every id: quadratic in the batch)."""
    execute_bound(
        f"UPDATE {_t(CampaignRecipient)} r SET message = v.message, status = %b, queued_at = %b,"
        " outbound_message_id = v.message_id"
        " FROM unnest(%b::bigint[], %b::jsonb[], %b::bigint[]) AS v(id, message, message_id) WHERE r.id = v.id",
        [RStatus.QUEUED, now, [row.pk for row in rows], [Jsonb(row.message) for row in rows],
         [row.outbound_message_id for row in rows]],
    )


def _pause_for_problem(campaign: Campaign, problem: str) -> None:
    Campaign.objects.filter(pk=campaign.pk, status=Status.SENDING).update(
        status=Status.PAUSED, problem=problem, updated_at=timezone.now()
    )


def _referral_codes(campaign: Campaign, customer_ids: list[int]) -> dict[int, str]:
    if not campaign.referral_program_id:
        return {}
    ReferralLink.objects.bulk_create(
        [ReferralLink(program_id=campaign.referral_program_id, customer_id=cid) for cid in customer_ids], ignore_conflicts=True
    )
    return dict(
        ReferralLink.objects.filter(program_id=campaign.referral_program_id, customer_id__in=customer_ids).values_list("customer_id", "code")
    )


def finish_if_done(campaign_id: int, *, now: datetime | None = None) -> bool:
    """A one-off campaign with nothing left to send is done."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None or campaign.status != Status.SENDING:
            return False
        if campaign.kind in (Campaign.Kind.TRIGGERED, Campaign.Kind.RECURRING):
            return False
        if campaign.kind == Campaign.Kind.JOURNEY and campaign.positions.filter(finished_at__isnull=True).exists():
            return False
        # Done once nothing waits to be queued or for the outbox to answer.
        if campaign.recipients.filter(status__in=[RStatus.PLANNED, RStatus.QUEUED]).exists():
            return False
        campaign.status, campaign.finished_at = Status.DONE, now or timezone.now()
        campaign.save(update_fields=["status", "finished_at", "updated_at"])
        return True


def _move(campaign: Campaign, *, to: str, allowed: tuple[str, ...], actor: User | None, action: str) -> Campaign:
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status not in allowed:
            raise CampaignError(_("This campaign cannot do that in its current status."))
        campaign.status = to
        if to == Status.SENDING:
            campaign.problem = ""
        if to == Status.CANCELLED:
            campaign.finished_at = timezone.now()
        campaign.save()
        record_audit(actor=actor, action=f"campaign.{action}", obj=campaign, changes={"status": to})
    return campaign


def pause_campaign(*, campaign: Campaign, actor: User | None) -> Campaign:
    return _move(campaign, to=Status.PAUSED, allowed=(Status.SENDING, Status.PLANNING), actor=actor, action="pause")


def resume_campaign(*, campaign: Campaign, actor: User | None) -> Campaign:
    from engagement.campaigns.tasks import send_campaign_batch_task

    campaign = _move(campaign, to=Status.SENDING, allowed=(Status.PAUSED,), actor=actor, action="resume")
    transaction.on_commit(lambda: send_campaign_batch_task.delay(campaign.pk))
    return campaign


def cancel_campaign(*, campaign: Campaign, actor: User | None) -> Campaign:
    return _move(
        campaign, to=Status.CANCELLED,
        allowed=(Status.DRAFT, Status.SCHEDULED, Status.PLANNING, Status.SENDING, Status.PAUSED), actor=actor, action="cancel",
    )


# --- journeys ---------------------------------------------------------------------------


def enter_journey(campaign: Campaign, audience: planning.Audience, *, now: datetime) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {_t(JourneyPosition)} (campaign_id, customer_id, position, due_at, entered_at)
                SELECT %(campaign)s, a.customer_id, 0, %(now)s, %(now)s FROM ({audience.sql}) a
                ON CONFLICT (campaign_id, customer_id) DO NOTHING""",
            {**audience.params, "campaign": campaign.pk, "now": now},
        )
        return cursor.rowcount


_CONDITION_SQL = {
    JourneyStep.Condition.READ: "r.read_at IS NOT NULL",
    JourneyStep.Condition.CLICKED: "r.clicked_at IS NOT NULL",
    JourneyStep.Condition.REPLIED: "r.replied_at IS NOT NULL",
    JourneyStep.Condition.CONVERTED: "r.converted_at IS NOT NULL",
}


def advance_journey(campaign: Campaign, *, now: datetime) -> planning.PlanResult:
    """Move every due customer through as many steps as are due now, step by step, each
    step one statement for everyone on it (bounded by the number of steps)."""
    steps = {step.position: step for step in campaign.steps.all()}
    total = planning.PlanResult()
    positions = _t(JourneyPosition)
    last = max(steps, default=-1)
    for _round in range(2 * len(steps) + 1):
        moved = 0
        for position in sorted(steps):
            step = steps[position]
            params: dict[str, Any] = {"c": campaign.pk, "p": position, "now": now, "next": position + 1}
            due = "campaign_id = %(c)s AND position = %(p)s AND due_at <= %(now)s AND finished_at IS NULL"
            if step.action == JourneyStep.Action.SEND:
                result = planning.plan_recipients(
                    campaign, planning.journey_audience(campaign, position=position, now=now),
                    step=position, start=now, variant_id=step.variant_id,
                )
                assign_coupons(campaign, step=position, now=now)
                total.planned += result.planned
                for reason, count in result.skipped.items():
                    total.skipped[reason] = total.skipped.get(reason, 0) + count
                sql = f"UPDATE {positions} SET position = %(next)s WHERE {due}"
            elif step.action == JourneyStep.Action.END:
                sql = f"UPDATE {positions} SET finished_at = %(now)s WHERE {due}"
            elif step.action == JourneyStep.Action.WAIT:
                params["wait"] = timedelta(hours=step.wait_hours)
                sql = f"UPDATE {positions} SET position = %(next)s, due_at = due_at + %(wait)s WHERE {due}"
            else:
                moved += _take_branch(step, due, params)
                continue
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                moved += cursor.rowcount
        with connection.cursor() as cursor:
            cursor.execute(
                # Past the last step and due: a wait at the end holds its customers until then.
                f"UPDATE {positions} SET finished_at = %(now)s WHERE campaign_id = %(c)s AND position > %(last)s "
                f"AND due_at <= %(now)s AND finished_at IS NULL",
                {"c": campaign.pk, "now": now, "last": last},
            )
        if not moved:
            break
    return total


def _take_branch(step: JourneyStep, due: str, params: dict[str, Any]) -> int:
    """Move the branch's due customers each way (two statements, so each way is counted)
    and add the counts to the step; returns how many moved."""
    params = {**params, "yes": step.if_true if step.if_true is not None else step.position + 1,
              "no": step.if_false if step.if_false is not None else step.position + 1}
    condition = _CONDITION_SQL.get(step.condition, "FALSE")
    responded = (
        f"EXISTS (SELECT 1 FROM {_t(CampaignRecipient)} r "
        f"WHERE r.campaign_id = j.campaign_id AND r.customer_id = j.customer_id AND {condition})"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {_t(JourneyPosition)} j SET position = %(yes)s WHERE {due} AND {responded}", params)
        went_yes = cursor.rowcount
        cursor.execute(f"UPDATE {_t(JourneyPosition)} j SET position = %(no)s WHERE {due}", params)
        went_no = cursor.rowcount
    if went_yes or went_no:
        JourneyStep.objects.filter(pk=step.pk).update(
            passed_true=F("passed_true") + went_yes, passed_false=F("passed_false") + went_no
        )
    return went_yes + went_no


# --- tracking -----------------------------------------------------------------------------


def recipient_token(recipient_id: int) -> str:
    # The schema is in the salt: recipient ids repeat across brands, tokens must not.
    salt = f"engagement.campaigns.recipient:{connection.schema_name}"
    signature = salted_hmac(salt, str(recipient_id)).hexdigest()[:16]
    return f"{recipient_id}-{signature}"


def recipient_from_token(token: str) -> CampaignRecipient | None:
    rid, _sep, signature = token.partition("-")
    if not rid.isdigit() or not constant_time_compare(recipient_token(int(rid)), token):
        return None
    return CampaignRecipient.objects.filter(pk=int(rid)).select_related("campaign").first()


def _advance_status(recipient_qs: Any, status: str, field: str, now: datetime) -> None:
    """Set the timestamp once and raise the status, never lower it."""
    earlier = FUNNEL[: FUNNEL.index(status)]
    recipient_qs.filter(**{f"{field}__isnull": True}).update(**{field: now})
    recipient_qs.filter(status__in=[s for s in earlier if s != "planned"]).update(status=status)


def record_click(*, link_code: str, token: str, user_agent: str = "", now: datetime | None = None) -> str | None:
    """The tracked link's target, after recording the click (and the timeline event for a
    known recipient). None for an unknown link."""
    now = now or timezone.now()
    link = TrackedLink.objects.filter(code=link_code).first()
    if link is None:
        return None
    recipient = recipient_from_token(token) if token else None
    if recipient is not None and recipient.campaign_id != link.campaign_id:
        recipient = None
    with transaction.atomic():
        click = Click.objects.create(
            link=link, recipient=recipient, customer_id=recipient.customer_id if recipient else None,
            clicked_at=now, user_agent=user_agent[:300],
        )
        if recipient is not None:
            _advance_status(CampaignRecipient.objects.filter(pk=recipient.pk), RStatus.CLICKED, "clicked_at", now)
            Interaction.objects.create(
                customer_id=recipient.customer_id, channel=recipient.channel, kind=InteractionKind.CAMPAIGN_CLICKED,
                occurred_at=now, external_id=f"campaign-click:{click.pk}",
                metadata={"campaign": link.campaign_id, "campaign_name": link.campaign.name[:200], "url": link.url},
            )
    return link.url


def attribute_conversions(campaign: Campaign, *, now: datetime | None = None) -> int:
    """Orders within the attribution window after a customer's send (or click) convert it,
    first order wins; one statement for the whole campaign."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH first_order AS (
                SELECT DISTINCT ON (r.id) r.id, o.ordered_at, o.amount
                  FROM {_t(CampaignRecipient)} r
                  JOIN {_t(Order)} o ON o.customer_id = r.customer_id
                 WHERE r.campaign_id = %(c)s AND r.queued_at IS NOT NULL AND r.converted_at IS NULL
                   AND o.status = 'paid' AND o.ordered_at >= r.queued_at
                   AND o.ordered_at < r.queued_at + %(window)s
                 ORDER BY r.id, o.ordered_at
            )
            UPDATE {_t(CampaignRecipient)} r
               SET converted_at = f.ordered_at, revenue = f.amount, status = 'converted'
              FROM first_order f WHERE r.id = f.id
            """,
            {"c": campaign.pk, "window": timedelta(days=campaign.attribution_days)},
        )
        return cursor.rowcount


def on_new_interactions(batch: Sequence[Any]) -> None:
    """channels.hooks subscriber: replies mark recent recipients, a reply keyword votes in
    the campaign's poll, a purchase rewards a referral. A few statements per batch."""
    replies = [i for i in batch if i.kind == InteractionKind.MESSAGE_IN]
    purchases = [i for i in batch if i.kind == InteractionKind.PURCHASE]
    if replies:
        _record_replies(replies)
    if purchases:
        _reward_purchases(purchases)


def _record_replies(replies: Sequence[Any]) -> None:
    by_customer = {}
    for reply in replies:
        by_customer.setdefault(reply.customer_id, reply)
    earliest = min(r.occurred_at for r in replies)
    recent = list(
        CampaignRecipient.objects.filter(
            customer_id__in=list(by_customer), queued_at__gte=earliest - REPLY_WINDOW, replied_at__isnull=True
        ).values_list("pk", "customer_id", "campaign__poll_id", "queued_at")
    )
    answered = [pk for pk, cid, _poll, queued in recent if by_customer[cid].occurred_at >= queued]
    CampaignRecipient.objects.filter(pk__in=answered).update(replied_at=timezone.now())
    polls = {(cid, poll) for pk, cid, poll, _q in recent if poll and pk in set(answered)}
    if not polls:
        return
    options = {}
    for option in PollOption.objects.filter(poll_id__in={p for _c, p in polls}, poll__is_open=True):
        options[(option.poll_id, option.keyword.strip().lower())] = option
    votes = []
    for cid, poll_id in polls:
        reply = by_customer[cid]
        option = options.get((poll_id, reply.text.strip().lower()))
        if option:
            votes.append(Vote(poll_id=poll_id, option=option, customer_id=cid, source=Vote.Source.REPLY, voted_at=reply.occurred_at))
    Vote.objects.bulk_create(votes, ignore_conflicts=True)


def _reward_purchases(purchases: Sequence[Any]) -> None:
    now = timezone.now()
    buyers = {p.customer_id for p in purchases}
    Referral.objects.filter(
        referee_id__in=buyers, status=Referral.Status.SIGNED_UP, program__reward_on=ReferralProgram.RewardOn.PURCHASE
    ).update(status=Referral.Status.PURCHASED, rewarded_at=now)
    codes = {p.customer_id: str(p.metadata.get("coupon", "")) for p in purchases if p.metadata.get("coupon")}
    for customer_id, code in codes.items():  # bounded by the batch
        try:
            redeem_coupon(code=code, customer=Customer(pk=customer_id), now=now)
        except CampaignError as error:
            logger.info("coupon not redeemed", extra={"code": code[:64], "reason": str(error)})


# --- polls and referrals ----------------------------------------------------------------------


def cast_vote(*, poll: Poll, option: PollOption, customer_id: int, source: str, now: datetime | None = None) -> bool:
    """One vote per customer per poll; False if they had already voted or the poll is closed."""
    if not poll.is_open or option.poll_id != poll.pk:
        return False
    now = now or timezone.now()
    try:
        with transaction.atomic():
            Vote.objects.create(poll=poll, option=option, customer_id=customer_id, source=source, voted_at=now)
            Interaction.objects.create(
                customer_id=customer_id, channel="web", kind=InteractionKind.POLL_VOTE, occurred_at=now,
                text=option.label[:200], external_id=f"poll-vote:{poll.pk}:{customer_id}", metadata={"poll": poll.pk},
            )
    except IntegrityError:
        return False
    return True


def referral_link_for(*, program: ReferralProgram, customer: Customer) -> ReferralLink:
    link, _created = ReferralLink.objects.get_or_create(program=program, customer=customer)
    return link


def refer(*, code: str, referee_id: int, now: datetime | None = None) -> Referral:
    """Record that the link's owner brought `referee`. Refuses self-referral and a friend
    already referred in this program (the database constraints back both)."""
    now = now or timezone.now()
    link = ReferralLink.objects.select_related("program").filter(code=code, program__is_active=True).first()
    if link is None:
        raise CampaignError(_("unknown or closed referral link"))
    if link.customer_id == referee_id:
        raise CampaignError(_("you cannot refer yourself"))
    referee = Customer.objects.filter(pk=referee_id).first()
    if referee is None or referee.created_at < now - NEW_CUSTOMER_WINDOW:
        raise CampaignError(_("only new customers can be referred"))
    try:
        with transaction.atomic():
            referral = Referral.objects.create(
                program=link.program, link=link, referrer_id=link.customer_id, referee_id=referee_id, created_at=now,
                rewarded_at=now if link.program.reward_on == ReferralProgram.RewardOn.SIGNUP else None,
            )
            Interaction.objects.create(
                customer_id=link.customer_id, channel="web", kind=InteractionKind.REFERRAL, occurred_at=now,
                external_id=f"referral:{referral.pk}", metadata={"program": link.program_id, "referred_id": referee_id},
            )
    except IntegrityError as error:
        raise CampaignError(_("this friend was already referred")) from error
    return referral


def claim_coupon(*, recipient: CampaignRecipient) -> Coupon | None:
    """The recipient's code from the campaign's pool, assigning one if planning did not."""
    campaign = recipient.campaign
    if campaign.coupon_pool_id is None:
        return None
    with transaction.atomic():
        existing = Coupon.objects.filter(pool_id=campaign.coupon_pool_id, customer_id=recipient.customer_id).first()
        if existing:
            return existing
        coupon = (
            Coupon.objects.select_for_update(skip_locked=True)
            .filter(pool_id=campaign.coupon_pool_id, customer__isnull=True).order_by("id").first()
        )
        if coupon is None and campaign.coupon_pool.kind == CouponPool.Kind.GENERATED:
            coupon = Coupon.objects.create(pool_id=campaign.coupon_pool_id, code=(campaign.coupon_pool.prefix + new_code(10)))
        if coupon is None:
            return None
        coupon.customer_id, coupon.assigned_at = recipient.customer_id, timezone.now()
        coupon.save(update_fields=["customer", "assigned_at"])
        return coupon


def create_coupon_pool(
    *, name: str, description: str, kind: str, prefix: str, generate: int, codes: Iterable[str], actor: User | None
) -> CouponPool:
    with transaction.atomic():
        pool = CouponPool.objects.create(name=name, description=description, kind=kind, prefix=prefix)
        if generate:
            generate_coupons(pool=pool, count=generate)
        upload_coupons(pool=pool, codes=codes)
        record_audit(actor=actor, action="campaign.coupon_pool.create", obj=pool, changes={"name": name})
    return pool


def create_poll(*, question: str, options: Sequence[str], actor: User | None) -> Poll:
    with transaction.atomic():
        poll = Poll.objects.create(question=question)
        PollOption.objects.bulk_create(
            [PollOption(poll=poll, label=label, keyword=str(index + 1), position=index) for index, label in enumerate(options)]
        )
        record_audit(actor=actor, action="campaign.poll.create", obj=poll, changes={"question": question[:200]})
    return poll


def create_referral_program(*, name: str, reward_on: str, reward: str, landing_text: str, actor: User | None) -> ReferralProgram:
    with transaction.atomic():
        program = ReferralProgram.objects.create(name=name, reward_on=reward_on, reward=reward, landing_text=landing_text)
        record_audit(actor=actor, action="campaign.referral_program.create", obj=program, changes={"name": name})
    return program


# --- gifts ------------------------------------------------------------------------------------


def create_gift_offer(
    *, name: str, description: str, coupon_pool: CouponPool | None, quantity: int | None, per_sender: int,
    claim_days: int, valid_until: datetime | None, actor: User | None,
) -> GiftOffer:
    with transaction.atomic():
        offer = GiftOffer(
            name=name, description=description, coupon_pool=coupon_pool, quantity=quantity, per_sender=per_sender,
            claim_days=claim_days, valid_until=valid_until,
        )
        offer.full_clean()
        offer.save()
        record_audit(actor=actor, action="campaign.gift_offer.create", obj=offer, changes={"name": name})
    return offer


def set_gift_offer_active(*, offer: GiftOffer, is_active: bool, actor: User | None) -> GiftOffer:
    with transaction.atomic():
        GiftOffer.objects.filter(pk=offer.pk).update(is_active=is_active)
        offer.is_active = is_active
        record_audit(actor=actor, action="campaign.gift_offer.active", obj=offer, changes={"is_active": is_active})
    return offer


def _sold_out(offer: GiftOffer) -> bool:
    return offer.quantity is not None and offer.claims.count() >= offer.quantity


def send_gift(
    *, offer: GiftOffer, sender_id: int, friend_name: str = "", message: str = "", campaign: Campaign | None = None,
    now: datetime | None = None,
) -> Gift:
    """A new gift from `sender` with its own claim code. Refused when the offer is closed,
    expired or sold out, or the sender has sent their share."""
    now = now or timezone.now()
    with transaction.atomic():
        # One sender count at a time per offer, so a double submit cannot exceed per_sender.
        offer = GiftOffer.objects.select_for_update().get(pk=offer.pk)
        if not offer.is_active or (offer.valid_until is not None and offer.valid_until <= now):
            raise CampaignError(_("this gift offer has ended"))
        if _sold_out(offer):
            raise CampaignError(_("all gifts have been claimed"))
        if offer.gifts.filter(sender_id=sender_id).count() >= offer.per_sender:
            raise CampaignError(_("you have already sent all the gifts you can send"))
        expires_at = now + timedelta(days=offer.claim_days)
        if offer.valid_until is not None:
            expires_at = min(expires_at, offer.valid_until)
        gift = Gift.objects.create(
            offer=offer, sender_id=sender_id, campaign=campaign, friend_name=friend_name[:100], message=message[:300],
            sent_at=now, expires_at=expires_at,
        )
        Interaction.objects.create(
            customer_id=sender_id, channel="web", kind=InteractionKind.GIFT_SENT, occurred_at=now,
            text=offer.name[:200], external_id=f"gift-sent:{gift.pk}",
            metadata={"gift_offer": offer.pk, "gift": gift.pk, "campaign": campaign.pk if campaign else None},
        )
    return gift


def claim_gift(*, code: str, customer_id: int, now: datetime | None = None) -> GiftClaim:
    """The friend's claim of a gift, once: not the sender's own, not expired, while stock
    lasts, one gift per friend per offer; a coupon offer hands the friend a code. The friend
    who claimed it claiming again (a double submit) gets their claim back."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            gift = Gift.objects.select_for_update().filter(code=code).first()
            if gift is None:
                raise CampaignError(_("unknown gift link"))
            # The offer row serializes claims, so the stock cannot be oversold.
            offer = GiftOffer.objects.select_for_update(of=("self",)).select_related("coupon_pool").get(pk=gift.offer_id)
            earlier = GiftClaim.objects.filter(gift=gift).select_related("coupon").first()
            if earlier is not None and earlier.customer_id == customer_id:
                return earlier
            if earlier is not None:
                raise CampaignError(_("this gift was already claimed"))
            if gift.sender_id == customer_id:
                raise CampaignError(_("you cannot claim your own gift"))
            if not offer.is_active or gift.expires_at <= now:
                raise CampaignError(_("this gift has expired"))
            if GiftClaim.objects.filter(offer=offer, customer_id=customer_id).exists():
                raise CampaignError(_("you have already claimed this gift"))
            if _sold_out(offer):
                raise CampaignError(_("all gifts have been claimed"))
            coupon = _gift_coupon(offer, customer_id, now) if offer.coupon_pool_id else None
            claim = GiftClaim.objects.create(gift=gift, offer=offer, customer_id=customer_id, coupon=coupon, claimed_at=now)
            Interaction.objects.create(
                customer_id=customer_id, channel="web", kind=InteractionKind.GIFT_CLAIMED, occurred_at=now,
                text=offer.name[:200], external_id=f"gift-claim:{claim.pk}",
                metadata={"gift_offer": offer.pk, "gift": gift.pk, "sender": gift.sender_id},
            )
    except IntegrityError as error:  # a concurrent claim won (one per code, one per friend)
        raise CampaignError(_("this gift was already claimed")) from error
    return claim


def gift_claim_token(claim: GiftClaim) -> str:
    """What the claim page's own link carries so a reload shows the friend their claim."""
    # The schema is in the salt: claim ids repeat across brands, tokens must not.
    return salted_hmac(f"engagement.campaigns.gift-claim:{connection.schema_name}", str(claim.pk)).hexdigest()[:20]


def gift_claim_from_token(gift: Gift, token: str) -> GiftClaim | None:
    claim = GiftClaim.objects.filter(gift=gift).select_related("coupon").first() if token else None
    if claim is None or not constant_time_compare(gift_claim_token(claim), token):
        return None
    return claim


def _gift_coupon(offer: GiftOffer, customer_id: int, now: datetime) -> Coupon:
    pool = offer.coupon_pool
    if Coupon.objects.filter(pool=pool, customer_id=customer_id).exists():
        raise CampaignError(_("you already have a code from this offer"))
    coupon = Coupon.objects.select_for_update(skip_locked=True).filter(pool=pool, customer__isnull=True).order_by("id").first()
    if coupon is None and pool.kind == CouponPool.Kind.GENERATED:
        coupon = Coupon.objects.create(pool=pool, code=pool.prefix + new_code(10))
    if coupon is None:
        raise CampaignError(_("all gifts have been claimed"))
    coupon.customer_id, coupon.assigned_at = customer_id, now
    coupon.save(update_fields=["customer", "assigned_at"])
    return coupon


# --- idea boards ----------------------------------------------------------------------------

# A customer may submit this many ideas per board per hour (the pages are also rate limited
# per client; this holds however many addresses one person uses).
IDEAS_PER_HOUR = 5


def create_idea_board(*, title: str, description: str, moderated: bool, actor: User | None) -> IdeaBoard:
    with transaction.atomic():
        board = IdeaBoard.objects.create(title=title, description=description, moderated=moderated)
        record_audit(actor=actor, action="campaign.idea_board.create", obj=board, changes={"title": title[:200]})
    return board


def update_idea_board(*, board: IdeaBoard, is_open: bool, moderated: bool, actor: User | None) -> IdeaBoard:
    with transaction.atomic():
        board.is_open, board.moderated = is_open, moderated
        board.save(update_fields=["is_open", "moderated"])
        record_audit(actor=actor, action="campaign.idea_board.update", obj=board,
                     changes={"is_open": is_open, "moderated": moderated})
    return board


def submit_idea(*, board: IdeaBoard, customer_id: int, title: str, body: str = "", now: datetime | None = None) -> Idea:
    """A customer's idea: visible at once on an unmoderated board, after approval otherwise."""
    now = now or timezone.now()
    if not board.is_open:
        raise CampaignError(_("this idea board is closed"))
    title, body = title.replace("\x00", "").strip(), body.replace("\x00", "").strip()
    if not title:
        raise CampaignError(_("give your idea a title"))
    with transaction.atomic():
        # Serializes one customer's submissions, so the hourly limit holds under double submits.
        Customer.objects.select_for_update().filter(pk=customer_id).first()
        recent = Idea.objects.filter(board=board, customer_id=customer_id, created_at__gt=now - timedelta(hours=1)).count()
        if recent >= IDEAS_PER_HOUR:
            raise CampaignError(_("you have shared many ideas in the last hour; please try again later"))
        moderation = Idea.Moderation.PENDING if board.moderated else Idea.Moderation.APPROVED
        idea = Idea.objects.create(
            board=board, customer_id=customer_id, title=title[:200], body=body[:2000], moderation=moderation, created_at=now
        )
        Interaction.objects.create(
            customer_id=customer_id, channel="web", kind=InteractionKind.IDEA, occurred_at=now, text=idea.title,
            external_id=f"idea:{idea.pk}", metadata={"idea_board": board.pk, "idea": idea.pk},
        )
    return idea


def toggle_idea_vote(*, idea: Idea, customer_id: int, now: datetime | None = None) -> bool:
    """Vote for an idea, or take the vote back; True when the customer now votes for it.
    Only approved ideas on an open board take votes. A vote lands on the timeline; taking
    it back takes it off, so the timeline shows the votes that stand."""
    now = now or timezone.now()
    if not idea.board.is_open or idea.moderation != Idea.Moderation.APPROVED:
        raise CampaignError(_("this idea is not open for votes"))
    with transaction.atomic():
        vote = IdeaVote.objects.filter(idea=idea, customer_id=customer_id).first()
        if vote is not None:
            IdeaVote.objects.filter(pk=vote.pk).delete()
            Interaction.objects.filter(channel="web", external_id=f"idea-vote:{vote.pk}").delete()
            return False
        try:
            with transaction.atomic():
                vote = IdeaVote.objects.create(idea=idea, customer_id=customer_id, voted_at=now)
        except IntegrityError:  # a concurrent request voted first: the vote stands
            return True
        Interaction.objects.create(
            customer_id=customer_id, channel="web", kind=InteractionKind.IDEA_VOTE, occurred_at=now, text=idea.title[:200],
            external_id=f"idea-vote:{vote.pk}", metadata={"idea_board": idea.board_id, "idea": idea.pk},
        )
    return True


def moderate_idea(*, idea: Idea, moderation: str | None = None, status: str | None = None, actor: User | None) -> Idea:
    """Approve or hide an idea, or mark how far it got (under review, planned, done)."""
    changes: dict[str, str] = {}
    if moderation is not None:
        if moderation not in Idea.Moderation.values:
            raise CampaignError(_("unknown moderation"))
        if moderation != idea.moderation:
            idea.moderation = changes["moderation"] = moderation
    if status is not None:
        if status not in Idea.Status.values:
            raise CampaignError(_("unknown status"))
        if status != idea.status:
            idea.status = changes["status"] = status
    if not changes:
        return idea
    with transaction.atomic():
        idea.save(update_fields=list(changes))
        record_audit(actor=actor, action="campaign.idea.moderate", obj=idea, changes=changes)
    return idea


# --- the clock ------------------------------------------------------------------------------


def due_campaign_ids(now: datetime) -> dict[str, list[int]]:
    """What the per-brand tick should do: plan (scheduled, recurring, triggered, journeys)
    and send (campaigns with due planned rows)."""
    plan = list(
        Campaign.objects.filter(
            Q(status=Status.SCHEDULED, next_run_at__lte=now)
            | Q(status=Status.SENDING, kind=Campaign.Kind.RECURRING, next_run_at__lte=now)
            | Q(status=Status.SENDING, kind__in=[Campaign.Kind.TRIGGERED, Campaign.Kind.JOURNEY])
        ).values_list("pk", flat=True)
    )
    send = list(
        Campaign.objects.filter(status=Status.SENDING, recipients__status=RStatus.PLANNED, recipients__send_at__lte=now)
        .distinct().values_list("pk", flat=True)
    )
    return {"plan": plan, "send": send}


def attribute_recent_conversions(now: datetime | None = None) -> int:
    now = now or timezone.now()
    total = 0
    recent = Campaign.objects.filter(Q(finished_at__isnull=True) | Q(finished_at__gte=now - timedelta(days=30))).exclude(
        status__in=[Status.DRAFT, Status.CANCELLED]
    )
    for campaign in recent:  # bounded by the brand's live campaigns; a few statements each
        total += attribute_conversions(campaign, now=now)
        mark_winner(campaign)
    return total


def mark_winner(campaign: Campaign) -> str | None:
    """Flag the A/B variant with the best rate on the campaign's metric (needs two arms)."""
    from engagement.campaigns.selectors import funnel, winner

    if campaign.variants.count() < 2:
        return None
    name = winner(campaign, funnel(campaign)["by_variant"])
    if name is not None:
        campaign.variants.update(is_winner=False)
        campaign.variants.filter(name=name).update(is_winner=True)
    return name
