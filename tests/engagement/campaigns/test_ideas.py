"""Idea boards (co-creation): customers submit ideas and vote (one vote each, a toggle) on a
hosted page reached from a campaign message; moderated boards show an idea after approval;
submissions are limited; marketers sort, search, page, approve, hide and mark status."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import tenant_context

from customers.merging import merge
from customers.models import Interaction
from engagement.campaigns import planning, services
from engagement.campaigns.models import CampaignRecipient, Idea, IdeaBoard, IdeaVote
from tests.customers.factories import CustomerFactory
from tests.engagement.campaigns.helpers import campaign_for, segment_of, wechat_customer

HOSTILE = '<script>alert("x")</script>\u202e😀'


def _board(**fields: object) -> IdeaBoard:
    return services.create_idea_board(**{"title": "Next flavour", "description": "", "moderated": False, "actor": None, **fields})


def test_a_vote_is_one_per_customer_and_toggles(brand):
    board, author, voter = _board(), CustomerFactory(), CustomerFactory()
    idea = services.submit_idea(board=board, customer_id=author.pk, title="Jasmine")

    assert services.toggle_idea_vote(idea=idea, customer_id=voter.pk) is True
    assert services.toggle_idea_vote(idea=idea, customer_id=voter.pk) is False
    assert services.toggle_idea_vote(idea=idea, customer_id=voter.pk) is True

    assert IdeaVote.objects.filter(idea=idea).count() == 1
    assert Interaction.objects.filter(customer=voter, kind="idea_vote").count() == 1
    assert Interaction.objects.filter(customer=author, kind="idea").count() == 1


def test_a_withdrawn_vote_leaves_the_timeline(brand):
    # given a customer who voted for two ideas
    board, voter = _board(), CustomerFactory()
    kept, withdrawn = (services.submit_idea(board=board, customer_id=CustomerFactory().pk, title=t) for t in ("Oolong", "Puer"))
    services.toggle_idea_vote(idea=kept, customer_id=voter.pk)
    services.toggle_idea_vote(idea=withdrawn, customer_id=voter.pk)

    # when they take one vote back
    assert services.toggle_idea_vote(idea=withdrawn, customer_id=voter.pk) is False

    # then their timeline shows only the vote that stands
    assert list(Interaction.objects.filter(customer=voter, kind="idea_vote").values_list("text", flat=True)) == ["Oolong"]


def test_a_moderated_board_shows_an_idea_after_approval_only(brand):
    board, author, voter = _board(moderated=True), CustomerFactory(), CustomerFactory()
    idea = services.submit_idea(board=board, customer_id=author.pk, title="Oolong")

    assert idea.moderation == Idea.Moderation.PENDING
    with pytest.raises(services.CampaignError, match="not open for votes"):
        services.toggle_idea_vote(idea=idea, customer_id=voter.pk)
    services.moderate_idea(idea=idea, moderation=Idea.Moderation.APPROVED, actor=None)
    assert services.toggle_idea_vote(idea=idea, customer_id=voter.pk) is True
    services.moderate_idea(idea=idea, moderation=Idea.Moderation.HIDDEN, status=Idea.Status.PLANNED, actor=None)

    idea.refresh_from_db()
    assert (idea.moderation, idea.status) == ("hidden", "planned")
    with pytest.raises(services.CampaignError):
        services.moderate_idea(idea=idea, status="shipped", actor=None)


def test_submissions_are_limited_per_customer_and_closed_boards_take_none(brand):
    board, author = _board(), CustomerFactory()
    for n in range(services.IDEAS_PER_HOUR):
        services.submit_idea(board=board, customer_id=author.pk, title=f"Idea {n}")

    with pytest.raises(services.CampaignError, match="last hour"):
        services.submit_idea(board=board, customer_id=author.pk, title="One more")
    later = timezone.now() + timezone.timedelta(hours=2)
    assert services.submit_idea(board=board, customer_id=author.pk, title="Next day", now=later).pk
    with pytest.raises(services.CampaignError, match="title"):
        services.submit_idea(board=board, customer_id=CustomerFactory().pk, title="  \x00 ")
    services.update_idea_board(board=board, is_open=False, moderated=False, actor=None)
    with pytest.raises(services.CampaignError, match="closed"):
        services.submit_idea(board=board, customer_id=CustomerFactory().pk, title="Too late")


def test_a_merge_carries_ideas_and_votes_and_keeps_one_vote_per_idea(brand):
    board = _board()
    keep, twin = CustomerFactory(), CustomerFactory()
    idea = services.submit_idea(board=board, customer_id=twin.pk, title="Matcha")
    other = services.submit_idea(board=board, customer_id=CustomerFactory().pk, title="Puer")
    services.toggle_idea_vote(idea=other, customer_id=keep.pk)
    services.toggle_idea_vote(idea=other, customer_id=twin.pk)
    services.toggle_idea_vote(idea=idea, customer_id=twin.pk)

    merge(keep, twin, rule="manual")

    assert Idea.objects.get(pk=idea.pk).customer_id == keep.pk
    assert IdeaVote.objects.filter(idea=idea, customer=keep).exists()
    # the twin's second vote on "Puer" stays behind: the survivor already voted for it
    assert IdeaVote.objects.filter(idea=other, customer=keep).count() == 1


# --- the hosted page -------------------------------------------------------------------------


def _board_url(board: IdeaBoard, **customer_fields: object) -> tuple[str, CampaignRecipient]:
    customer = wechat_customer(**customer_fields)
    campaign = campaign_for(segment_of([customer]), idea_board=board)
    planning.plan_recipients(campaign, planning.segment_audience(campaign))
    row = CampaignRecipient.objects.get(campaign=campaign)
    return reverse("engagement:public-ideas", args=[board.slug, services.recipient_token(row.pk)]), row


def test_the_hosted_board_takes_ideas_and_votes_with_csrf_and_escapes(brand):
    # given a recipient of a campaign with a moderated board, and an approved hostile idea
    board = _board(title=HOSTILE, moderated=True)
    url, row = _board_url(board)
    hostile = services.submit_idea(board=board, customer_id=CustomerFactory().pk, title=HOSTILE, body=HOSTILE)
    services.moderate_idea(idea=hostile, moderation="approved", actor=None)
    services.submit_idea(board=board, customer_id=CustomerFactory().pk, title="Someone else's secret draft")
    client = Client(HTTP_HOST=brand.primary_host(), enforce_csrf_checks=True)

    # when they open it
    page = client.get(url)
    html = page.content.decode()
    # then hostile text is escaped, and nobody else's waiting idea shows
    assert page.status_code == 200 and "&lt;script&gt;" in html and "<script>alert" not in html
    assert "secret draft" not in html

    # when they submit an idea without and with the CSRF token
    assert client.post(url, {"title": "Rose tea"}).status_code == 403
    csrf = page.cookies["csrftoken"].value
    response = client.post(url, {"title": "Rose tea", "body": "<b>please</b>", "csrfmiddlewaretoken": csrf})
    assert response.status_code == 302  # a reload of the result cannot submit it twice
    done = client.get(response["Location"]).content.decode()
    # then it waits for approval, visible only to its author
    assert 'data-testid="idea-submitted"' in done and "Rose tea" in done and "&lt;b&gt;please" in done
    assert Idea.objects.get(title="Rose tea").customer_id == row.customer_id

    # when they vote for the approved idea (HTMX), and again (a toggle)
    vote_url = reverse("engagement:public-idea-vote", args=[board.slug, services.recipient_token(row.pk)])
    assert client.post(vote_url, {"idea": hostile.pk}).status_code == 403
    voted = client.post(vote_url, {"idea": hostile.pk, "csrfmiddlewaretoken": csrf}, HTTP_HX_REQUEST="true").content.decode()
    assert f'data-testid="votes-{hostile.pk}">1<' in voted and "<html" not in voted
    assert client.post(vote_url, {"idea": hostile.pk, "csrfmiddlewaretoken": csrf}).status_code == 302
    assert not IdeaVote.objects.exists()


def test_ideas_are_sorted_by_votes_on_the_hosted_page(brand):
    board = _board()
    url, _row = _board_url(board)
    low = services.submit_idea(board=board, customer_id=CustomerFactory().pk, title="Low idea")
    high = services.submit_idea(board=board, customer_id=CustomerFactory().pk, title="High idea")
    for _ in range(2):
        services.toggle_idea_vote(idea=high, customer_id=CustomerFactory().pk)
    services.toggle_idea_vote(idea=low, customer_id=CustomerFactory().pk)

    html = Client(HTTP_HOST=brand.primary_host()).get(url).content.decode()

    assert html.index("High idea") < html.index("Low idea")


def test_hosted_board_submissions_are_rate_limited(brand):
    board = _board()
    url, _row = _board_url(board)
    client = Client(HTTP_HOST=brand.primary_host(), REMOTE_ADDR="203.0.113.31")

    codes = [client.post(url, {"title": f"Spam {n}"}).status_code for n in range(32)]

    assert codes[0] == 302 and codes[-1] == 429
    # the per-customer limit held well before the per-client one
    assert Idea.objects.count() == services.IDEAS_PER_HOUR


def test_a_token_from_another_campaign_or_brand_is_404(brand, other_brand):
    board, elsewhere = _board(), _board(title="Elsewhere")
    url, row = _board_url(elsewhere)
    client = Client(HTTP_HOST=brand.primary_host())
    # the token belongs to a campaign with another board
    assert client.get(reverse("engagement:public-ideas", args=[board.slug, services.recipient_token(row.pk)])).status_code == 404
    assert client.get(url.replace(f"{row.pk}-", f"{row.pk}-x")).status_code == 404
    with tenant_context(other_brand):
        beta = IdeaBoard.objects.create(title="beta board")
    token = services.recipient_token(row.pk)
    assert client.get(reverse("engagement:public-ideas", args=[beta.slug, token])).status_code == 404
    assert client.post(reverse("engagement:public-idea-vote", args=[beta.slug, token]), {"idea": 1}).status_code == 404


def test_a_vote_for_an_idea_on_another_board_is_404(brand):
    board, other = _board(), _board(title="Other")
    url, row = _board_url(board)
    foreign = services.submit_idea(board=other, customer_id=CustomerFactory().pk, title="Elsewhere")
    vote_url = reverse("engagement:public-idea-vote", args=[board.slug, services.recipient_token(row.pk)])

    assert Client(HTTP_HOST=brand.primary_host()).post(vote_url, {"idea": foreign.pk}).status_code == 404
    assert not IdeaVote.objects.exists()


# --- marketer pages ------------------------------------------------------------------------------


def test_marketer_creates_a_board_and_moderates_sorted_searchable_paged_ideas(staff_client):
    client, _ = staff_client("Marketer")
    listing = client.get(reverse("engagement:idea-board-list")).content.decode()
    assert 'data-testid="empty-state"' in listing
    assert 'data-testid="ideas-link"' in client.get(reverse("engagement:campaign-list")).content.decode()
    created = client.post(reverse("engagement:idea-board-create"), {"title": HOSTILE, "description": "Tell us", "moderated": "on"})
    board = IdeaBoard.objects.get()
    assert created.status_code == 302 and board.moderated
    detail_url = reverse("engagement:idea-board-detail", args=[board.pk])
    assert 'data-testid="empty-state"' in client.get(detail_url).content.decode()

    # given 30 ideas, one with votes and hostile text
    authors = [CustomerFactory() for _ in range(30)]
    ideas = [services.submit_idea(board=board, customer_id=a.pk, title=f"Idea {n}", now=timezone.now()) for n, a in enumerate(authors)]
    top = ideas[7]
    services.moderate_idea(idea=top, moderation="approved", actor=None)
    Idea.objects.filter(pk=top.pk).update(body=HOSTILE)
    for voter in authors[:3]:
        services.toggle_idea_vote(idea=top, customer_id=voter.pk)

    page_one = client.get(detail_url).content.decode()
    page_two = client.get(detail_url, {"page": 2}).content.decode()
    found = client.get(detail_url, {"q": "Idea 7"}, HTTP_HX_REQUEST="true").content.decode()
    approved = client.get(detail_url, {"moderation": "approved"}).content.decode()

    # then the most voted idea is first, the list pages, search and filters narrow it, all escaped
    assert page_one.count('data-testid="idea-row"') == 25 and page_two.count('data-testid="idea-row"') == 5
    assert page_one.index("Idea 7") < page_one.index("Idea 29")
    assert "&lt;script&gt;" in page_one and "<script>alert" not in page_one and "&lt;script&gt;" in client.get(reverse("engagement:idea-board-list")).content.decode()
    assert found.count('data-testid="idea-row"') == 1 and "<html" not in found
    assert approved.count('data-testid="idea-row"') == 1

    # when the marketer hides one and marks another planned (HTMX row swap)
    row = client.post(reverse("engagement:idea-moderate", args=[ideas[0].pk]), {"moderation": "hidden"}, HTTP_HX_REQUEST="true")
    client.post(reverse("engagement:idea-moderate", args=[top.pk]), {"status": "planned"})
    assert 'data-testid="idea-row"' in row.content.decode() and "<html" not in row.content.decode()
    assert Idea.objects.get(pk=ideas[0].pk).moderation == "hidden"
    assert Idea.objects.get(pk=top.pk).status == "planned" and Idea.objects.get(pk=top.pk).moderation == "approved"

    # and closes the board
    client.post(reverse("engagement:idea-board-settings", args=[board.pk]), {"moderated": "on"})
    board.refresh_from_db()
    assert not board.is_open and board.moderated


def test_another_brands_boards_and_ideas_are_404(staff_client, other_brand):
    client, _ = staff_client("Marketer")
    with tenant_context(other_brand):
        board = IdeaBoard.objects.create(title="beta board")
        idea = Idea.objects.create(board=board, customer=CustomerFactory(), title="beta idea", created_at=timezone.now())
    for pk in (board.pk, board.pk + 100000):
        assert client.get(reverse("engagement:idea-board-detail", args=[pk])).status_code == 404
        assert client.post(reverse("engagement:idea-board-settings", args=[pk])).status_code == 404
    assert client.post(reverse("engagement:idea-moderate", args=[idea.pk]), {"moderation": "hidden"}).status_code == 404
    with tenant_context(other_brand):
        assert IdeaBoard.objects.get(pk=board.pk).is_open and Idea.objects.get(pk=idea.pk).moderation == "pending"


def test_agents_cannot_reach_idea_boards(staff_client):
    client, _ = staff_client("Agent")
    assert client.get(reverse("engagement:idea-board-list")).status_code == 403


def test_the_report_and_the_message_show_the_board(staff_client, brand):
    client, _ = staff_client("Marketer")
    board = _board()
    customer = wechat_customer()
    campaign = campaign_for(segment_of([customer]), idea_board=board, text="Ideas: {{ ideas_link }}",
                            public_base_url="https://alpha.example")
    planning.plan_recipients(campaign, planning.segment_audience(campaign))
    services.send_batch(campaign.pk)
    row = CampaignRecipient.objects.get()
    idea = services.submit_idea(board=board, customer_id=customer.pk, title="Chai")
    services.toggle_idea_vote(idea=idea, customer_id=CustomerFactory().pk)

    html = client.get(reverse("engagement:campaign-report", args=[campaign.pk])).content.decode()

    expected = "https://alpha.example" + reverse("engagement:public-ideas", args=[board.slug, services.recipient_token(row.pk)])
    assert row.message["data"]["first"] == f"Ideas: {expected}"
    assert 'data-testid="idea-stats"' in html and "1 ideas from 1 customers, 1 votes" in html
