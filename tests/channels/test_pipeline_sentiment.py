"""Sentiment follows the profile write: a task on the analytics queue scores what the
pipeline wrote, and the sweeper catches anything whose task was lost."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from channels import enrichment, services
from channels.sandboxes import deliveries
from customers.models import Interaction
from tests.channels.conftest import make_connector
from tests.conftest import wait_until

pytestmark = pytest.mark.worker

TEXTS = ["质量很好，非常满意！", "客服态度很差", "Love the new collection!", "My package arrived damaged", "👍"]


def _scored(brand) -> dict[str, float | None] | None:  # noqa: ANN001
    with tenant_context(brand):
        found = dict(Interaction.objects.values_list("text", "sentiment"))
    if len(found) == len(TEXTS) and all(found[t] is not None for t in TEXTS[:4]):
        return found
    return None


def test_sentiment_is_scored_by_a_real_worker_after_the_interactions_land(celery_worker, committed_brand):
    # given deliveries in Chinese, English and neither
    with tenant_context(committed_brand):
        connector = make_connector("web_api")
        for n, text in enumerate(TEXTS):
            item = {"id": f"s-{n}", "type": "message", "text": text, "customer": {"email": f"p{n}@example.com"}}
            delivery = deliveries.scrm_api(api_key=connector.webhook_token, signing_secret="api-signing-secret", items=item)
            services.store_raw_event(connector=connector, body=delivery.body, dedupe_key=item["id"], headers={})
    # when the worker processes them, then every scorable text gets its sentiment
    scored = wait_until(lambda: _scored(committed_brand), timeout=120, interval=0.5)
    assert scored["质量很好，非常满意！"] > 0 > scored["客服态度很差"]
    assert scored["Love the new collection!"] > 0 > scored["My package arrived damaged"]
    assert scored["👍"] is None  # neither language: left unscored

    # and when scores are missing (their task lost with Redis), the sweeper brings them back
    with tenant_context(committed_brand):
        Interaction.objects.update(sentiment=None)
        assert enrichment.requeue_unscored() == 4
    rescored = wait_until(lambda: _scored(committed_brand), timeout=120, interval=0.5)
    assert rescored == scored
