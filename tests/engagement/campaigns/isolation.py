"""Objects the brand-isolation sweep (tests/scrm/test_isolation.py) makes in the other
brand for the campaign URLs' parameters."""

from django.utils import timezone

from customers.models import Customer
from engagement.campaigns.models import Campaign, GiftOffer, Idea, IdeaBoard, Poll, TrackedLink

MARKER = "beta-secret-7f3a"


def _campaign() -> Campaign:
    return Campaign.objects.create(name=f"{MARKER} campaign")


def _idea() -> Idea:
    board = IdeaBoard.objects.create(title=f"{MARKER} board")
    author = Customer.objects.create(display_name=f"{MARKER} author")
    return Idea.objects.create(board=board, customer=author, title=f"{MARKER} idea", created_at=timezone.now())


CAMPAIGN_ID_SOURCES = {
    "campaign_id": lambda: _campaign().pk,
    "action": lambda: "pause",
    "index": lambda: 0,
    "code": lambda: TrackedLink.objects.create(campaign=_campaign(), url="https://beta.example/").code,
    "slug": lambda: Poll.objects.create(question=f"{MARKER} poll").slug,
    "offer_id": lambda: GiftOffer.objects.create(name=f"{MARKER} gift").pk,
    "board_id": lambda: IdeaBoard.objects.create(title=f"{MARKER} board").pk,
    "idea_id": lambda: _idea().pk,
}
