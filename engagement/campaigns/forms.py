"""Forms for campaign pages: they validate, never save (services do)."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.channels import Channel
from engagement.campaigns.models import (
    Campaign,
    CouponPool,
    GiftOffer,
    Idea,
    IdeaBoard,
    JourneyStep,
    Poll,
    ReferralProgram,
    Variant,
)
from segments.models import Segment

MAX_TEXT = 5000
MAX_HTML = 100_000


def _no_nul(value: str) -> str:
    return value.replace("\x00", "")


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=Campaign.Kind.choices)
    channel = forms.ChoiceField(label=_("Channel"), choices=[(c.value, c.label) for c in Channel if c != Channel.STORE])
    message_type = forms.ChoiceField(label=_("Message type"), choices=Campaign.MessageType.choices)
    segments = forms.ModelMultipleChoiceField(label=_("Audience segments"), queryset=Segment.objects.none(), required=False)
    exclusion_segments = forms.ModelMultipleChoiceField(label=_("Exclude segments"), queryset=Segment.objects.none(), required=False)
    trigger_segment = forms.ModelChoiceField(label=_("Trigger: customers entering"), queryset=Segment.objects.none(), required=False)
    scheduled_at = forms.DateTimeField(label=_("Send at (empty: when you press Send)"), required=False,
                                       widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    recurrence = forms.ChoiceField(label=_("Repeat"), choices=Campaign.Recurrence.choices, required=False)
    frequency_cap = forms.IntegerField(label=_("At most N marketing messages"), min_value=1, max_value=100, initial=3)
    frequency_days = forms.IntegerField(label=_("per N days"), min_value=1, max_value=90, initial=7)
    quiet_start = forms.IntegerField(label=_("Quiet hours from (hour)"), min_value=0, max_value=23, initial=22)
    quiet_end = forms.IntegerField(label=_("Quiet hours until (hour)"), min_value=0, max_value=23, initial=8)
    timezone = forms.CharField(label=_("Time zone (when a customer has none)"), max_length=64, initial="Asia/Shanghai")
    best_send_time = forms.BooleanField(label=_("Send at each customer's most active hour"), required=False)
    send_rate = forms.IntegerField(label=_("Messages per second"), min_value=1, max_value=5000, initial=200)
    attribution_days = forms.IntegerField(label=_("Attribution window (days)"), min_value=1, max_value=90, initial=7)
    winner_metric = forms.ChoiceField(label=_("A/B winner by"), choices=Campaign.WinnerMetric.choices)
    coupon_pool = forms.ModelChoiceField(label=_("Coupon pool"), queryset=CouponPool.objects.none(), required=False)
    poll = forms.ModelChoiceField(label=_("Poll"), queryset=Poll.objects.none(), required=False)
    referral_program = forms.ModelChoiceField(label=_("Referral program"), queryset=ReferralProgram.objects.none(), required=False)
    gift_offer = forms.ModelChoiceField(label=_("Gift to send a friend"), queryset=GiftOffer.objects.none(), required=False)
    idea_board = forms.ModelChoiceField(label=_("Idea board"), queryset=IdeaBoard.objects.none(), required=False)
    # Variant A (always) and B (optional, with its share).
    a_text = forms.CharField(label=_("Message A"), required=False, max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 4}))
    a_link_url = forms.URLField(label=_("Link A (tracked)"), required=False, max_length=1000, assume_scheme="https")
    a_image_url = forms.URLField(label=_("Image A"), required=False, max_length=500, assume_scheme="https")
    a_template_id = forms.CharField(label=_("WeChat template ID A"), required=False, max_length=100)
    a_email_subject = forms.CharField(label=_("Email subject A"), required=False, max_length=300)
    a_email_html = forms.CharField(label=_("Email HTML A"), required=False, max_length=MAX_HTML, widget=forms.Textarea(attrs={"rows": 4}))
    b_enabled = forms.BooleanField(label=_("A/B test with a second message"), required=False)
    b_split = forms.IntegerField(label=_("Share of recipients for B (%)"), min_value=1, max_value=99, initial=50, required=False)
    b_text = forms.CharField(label=_("Message B"), required=False, max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 4}))
    b_link_url = forms.URLField(label=_("Link B (tracked)"), required=False, max_length=1000, assume_scheme="https")
    b_email_subject = forms.CharField(label=_("Email subject B"), required=False, max_length=300)
    b_email_html = forms.CharField(label=_("Email HTML B"), required=False, max_length=MAX_HTML, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        segments = Segment.objects.order_by("name")
        for name in ("segments", "exclusion_segments", "trigger_segment"):
            self.fields[name].queryset = segments
        self.fields["coupon_pool"].queryset = CouponPool.objects.all()
        self.fields["poll"].queryset = Poll.objects.all()
        self.fields["referral_program"].queryset = ReferralProgram.objects.all()
        self.fields["gift_offer"].queryset = GiftOffer.objects.filter(is_active=True)
        self.fields["idea_board"].queryset = IdeaBoard.objects.all()

    def clean_timezone(self) -> str:
        name = self.cleaned_data["timezone"].strip()
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
            raise forms.ValidationError(_("Unknown time zone.")) from error
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for key, value in list(data.items()):
            if isinstance(value, str):
                data[key] = _no_nul(value)
        if data.get("kind") == Campaign.Kind.TRIGGERED and not data.get("trigger_segment"):
            self.add_error("trigger_segment", _("Choose the segment that triggers the campaign."))
        if data.get("kind") == Campaign.Kind.RECURRING and not data.get("recurrence"):
            self.add_error("recurrence", _("Choose how often it repeats."))
        return data

    def campaign_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        names = ("name", "kind", "channel", "message_type", "trigger_segment", "scheduled_at", "recurrence", "frequency_cap",
                 "frequency_days", "quiet_start", "quiet_end", "timezone", "best_send_time", "send_rate", "attribution_days",
                 "winner_metric", "coupon_pool", "poll", "referral_program", "gift_offer", "idea_board")
        fields = {name: data.get(name) for name in names}
        fields["recurrence"] = fields["recurrence"] or ""
        return fields

    def variants(self) -> list[dict[str, Any]]:
        data = self.cleaned_data
        b = bool(data.get("b_enabled"))
        split_b = data.get("b_split") or 50
        variants = [{
            "name": "A", "split_percent": 100 - split_b if b else 100, "text": data["a_text"], "link_url": data["a_link_url"],
            "image_url": data["a_image_url"], "template_id": data["a_template_id"],
            "template_data": {"first": data["a_text"]} if data["a_template_id"] else {},
            "email_subject": data["a_email_subject"], "email_html": data["a_email_html"],
        }]
        if b:
            variants.append({
                "name": "B", "split_percent": split_b, "text": data["b_text"], "link_url": data["b_link_url"],
                "email_subject": data["b_email_subject"], "email_html": data["b_email_html"],
            })
        return variants

    @classmethod
    def initial_for(cls, campaign: Campaign) -> dict[str, Any]:
        initial = {name: getattr(campaign, name) for name in (
            "name", "kind", "channel", "message_type", "trigger_segment", "scheduled_at", "recurrence", "frequency_cap",
            "frequency_days", "quiet_start", "quiet_end", "timezone", "best_send_time", "send_rate", "attribution_days",
            "winner_metric", "coupon_pool", "poll", "referral_program", "gift_offer", "idea_board")}
        initial["segments"] = list(campaign.segments.all())
        initial["exclusion_segments"] = list(campaign.exclusion_segments.all())
        for variant in campaign.variants.all():
            prefix = variant.name.lower()
            if prefix not in ("a", "b"):
                continue
            for field in ("text", "link_url", "image_url", "template_id", "email_subject", "email_html"):
                initial[f"{prefix}_{field}"] = getattr(variant, field)
            if prefix == "b":
                initial["b_enabled"], initial["b_split"] = True, variant.split_percent
        return initial


class SearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200)
    status = forms.ChoiceField(required=False, choices=[("", _("All statuses")), *Campaign.Status.choices])


class PreviewForm(forms.Form):
    customer = forms.IntegerField(label=_("Customer ID"), min_value=1)


class CouponPoolForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(label=_("Offer"), max_length=300, required=False)
    kind = forms.ChoiceField(label=_("Codes"), choices=CouponPool.Kind.choices)
    prefix = forms.RegexField(label=_("Code prefix"), regex=r"^[A-Z0-9]{0,12}$", required=False, max_length=12)
    generate = forms.IntegerField(label=_("Generate this many codes now"), min_value=0, max_value=1_000_000, required=False)
    codes = forms.CharField(label=_("Or paste codes, one a line"), required=False, max_length=2_000_000,
                            widget=forms.Textarea(attrs={"rows": 3}))


class PollForm(forms.Form):
    question = forms.CharField(label=_("Question"), max_length=500)
    options = forms.CharField(label=_("Options, one a line (the reply keyword is its number)"), max_length=5000,
                              widget=forms.Textarea(attrs={"rows": 4}))

    def clean_options(self) -> list[str]:
        options = [line.strip().replace("\x00", "") for line in self.cleaned_data["options"].splitlines() if line.strip()]
        if not 2 <= len(options) <= 20:
            raise forms.ValidationError(_("Give between 2 and 20 options."))
        return [option[:200] for option in options]


class ReferralProgramForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    reward_on = forms.ChoiceField(label=_("Reward when the friend"), choices=ReferralProgram.RewardOn.choices)
    reward = forms.CharField(label=_("Reward"), max_length=300, required=False)
    landing_text = forms.CharField(label=_("Landing page text"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 3}))


class VoteForm(forms.Form):
    option = forms.IntegerField(min_value=1)


class ReferralSignUpForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=100, required=False)
    email = forms.EmailField(label=_("Your email"))


class RedeemForm(forms.Form):
    code = forms.CharField(label=_("Coupon code"), max_length=64)
    order = forms.CharField(label=_("Order number"), max_length=100)



class GiftOfferForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(label=_("What the friend gets"), max_length=300, required=False)
    coupon_pool = forms.ModelChoiceField(label=_("Give a code from this coupon pool (empty: a named gift)"),
                                         queryset=CouponPool.objects.none(), required=False)
    quantity = forms.IntegerField(label=_("Gifts available (empty: no limit)"), min_value=1, max_value=10_000_000, required=False)
    per_sender = forms.IntegerField(label=_("Gifts each customer may send"), min_value=1, max_value=100, initial=1)
    claim_days = forms.IntegerField(label=_("Days a friend has to claim"), min_value=1, max_value=365, initial=14)
    valid_until = forms.DateTimeField(label=_("Offer ends"), required=False,
                                      widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["coupon_pool"].queryset = CouponPool.objects.all()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for key in ("name", "description"):
            if isinstance(data.get(key), str):
                data[key] = _no_nul(data[key])
        return data


class GiftListForm(forms.Form):
    claimed = forms.ChoiceField(required=False, choices=[("", _("All gifts")), ("yes", _("Claimed")), ("no", _("Not claimed"))])


class GiftSendForm(forms.Form):
    friend_name = forms.CharField(label=_("Your friend's name (optional)"), max_length=100, required=False)
    message = forms.CharField(label=_("A note for your friend (optional)"), max_length=300, required=False,
                              widget=forms.Textarea(attrs={"rows": 2}))


class GiftClaimForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=100, required=False)
    email = forms.EmailField(label=_("Your email"))


class IdeaBoardForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(label=_("Description"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    moderated = forms.BooleanField(label=_("New ideas need approval before others see them"), required=False, initial=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for key in ("title", "description"):
            if isinstance(data.get(key), str):
                data[key] = _no_nul(data[key])
        return data


class IdeaBoardSettingsForm(forms.Form):
    is_open = forms.BooleanField(label=_("Open for ideas and votes"), required=False)
    moderated = forms.BooleanField(label=_("New ideas need approval before others see them"), required=False)


class IdeaSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200)
    moderation = forms.ChoiceField(required=False, choices=[("", _("Any moderation")), *Idea.Moderation.choices])
    status = forms.ChoiceField(required=False, choices=[("", _("Any status")), *Idea.Status.choices])


class ModerateIdeaForm(forms.Form):
    moderation = forms.ChoiceField(required=False, choices=[("", ""), *Idea.Moderation.choices])
    status = forms.ChoiceField(required=False, choices=[("", ""), *Idea.Status.choices])


class IdeaForm(forms.Form):
    title = forms.CharField(label=_("Your idea"), max_length=200)
    body = forms.CharField(label=_("Details (optional)"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3}))


class IdeaVoteForm(forms.Form):
    idea = forms.IntegerField(min_value=1)
class JourneyStepForm(forms.Form):
    """One journey step as the builder posts it. Checks what one step needs; the journey's
    own rules (targets exist, no loop) are journeys.problems, run by the service."""

    UNITS = (("hours", _("hours")), ("days", _("days")))

    action = forms.ChoiceField(label=_("Step"), choices=JourneyStep.Action.choices)
    variant = forms.ModelChoiceField(label=_("Message to send"), queryset=Variant.objects.none(), required=False)
    wait = forms.IntegerField(label=_("Wait"), required=False, min_value=1, max_value=10_000,
                              error_messages={"min_value": _("A wait must be longer than zero.")})
    wait_unit = forms.ChoiceField(label=_("Unit"), choices=UNITS, initial="days", required=False)
    condition = forms.ChoiceField(label=_("If the customer"), required=False,
                                  choices=[("", "—"), *JourneyStep.Condition.choices])
    if_true = forms.TypedChoiceField(label=_("Then go to"), required=False, coerce=int, empty_value=None,
                                     error_messages={"invalid_choice": _("Choose a step of this journey.")})
    if_false = forms.TypedChoiceField(label=_("Otherwise go to"), required=False, coerce=int, empty_value=None,
                                      error_messages={"invalid_choice": _("Choose a step of this journey.")})
    before = forms.TypedChoiceField(label=_("Where"), required=False, coerce=int, empty_value=None,
                                    error_messages={"invalid_choice": _("Choose a step of this journey.")})

    def __init__(self, *args: Any, campaign: Campaign, steps: list[JourneyStep], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["variant"].queryset = campaign.variants.all()
        labels = [(step.position, step_label(step)) for step in steps]
        targets = [("", _("The next step")), *labels]
        self.fields["if_true"].choices = targets
        self.fields["if_false"].choices = targets
        self.fields["before"].choices = [
            ("", _("At the end")),
            *[(position, _("Before %(step)s") % {"step": label}) for position, label in labels],
        ]

    @classmethod
    def initial_for(cls, step: JourneyStep) -> dict[str, Any]:
        days = step.wait_hours and step.wait_hours % 24 == 0
        return {
            "action": step.action, "variant": step.variant_id, "condition": step.condition,
            "wait": (step.wait_hours // 24 if days else step.wait_hours) or None, "wait_unit": "days" if days else "hours",
            "if_true": step.if_true, "if_false": step.if_false,
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        action = data.get("action")
        if action == JourneyStep.Action.SEND and not data.get("variant") and "variant" not in self.errors:
            self.add_error("variant", _("A send step needs a message."))
        if action == JourneyStep.Action.WAIT and not data.get("wait") and "wait" not in self.errors:
            self.add_error("wait", _("Enter how long to wait."))
        if action == JourneyStep.Action.BRANCH and not data.get("condition"):
            self.add_error("condition", _("Choose what the branch checks."))
        return data

    def step(self) -> dict[str, Any]:
        """The step as services.save_journey takes it; fields of other actions are dropped."""
        data, action = self.cleaned_data, self.cleaned_data["action"]
        send, wait, branch = (action == a for a in (JourneyStep.Action.SEND, JourneyStep.Action.WAIT, JourneyStep.Action.BRANCH))
        hours = (data["wait"] or 0) * (24 if data.get("wait_unit") == "days" else 1)
        return {
            "action": action, "variant": data["variant"] if send else None, "wait_hours": hours if wait else 0,
            "condition": data["condition"] if branch else "",
            "if_true": data["if_true"] if branch else None, "if_false": data["if_false"] if branch else None,
        }


def step_label(step: JourneyStep) -> str:
    """ "3. Send: B", "4. Wait 2 days", "5. Branch: Clicked a link" — for menus of steps."""
    detail = ""
    if step.action == JourneyStep.Action.SEND:
        detail = f": {step.variant.name}" if step.variant else ""
    elif step.action == JourneyStep.Action.WAIT:
        days = step.wait_hours % 24 == 0 and step.wait_hours
        detail = " " + (_("%(count)s days") % {"count": step.wait_hours // 24} if days else _("%(count)s hours") % {"count": step.wait_hours})
    elif step.action == JourneyStep.Action.BRANCH:
        detail = f": {step.get_condition_display()}"
    return f"{step.position + 1}. {step.get_action_display()}{detail}"
