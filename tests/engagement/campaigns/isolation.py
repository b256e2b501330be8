"""Objects the brand-isolation sweep (tests/scrm/test_isolation.py) makes in the other
brand for the campaign URLs' parameters."""

from engagement.campaigns.models import Campaign, Poll, TrackedLink

MARKER = "beta-secret-7f3a"


def _campaign() -> Campaign:
    return Campaign.objects.create(name=f"{MARKER} campaign")


CAMPAIGN_ID_SOURCES = {
    "campaign_id": lambda: _campaign().pk,
    "action": lambda: "pause",
    "index": lambda: 0,
    "code": lambda: TrackedLink.objects.create(campaign=_campaign(), url="https://beta.example/").code,
    "slug": lambda: Poll.objects.create(question=f"{MARKER} poll").slug,
}
