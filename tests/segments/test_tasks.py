"""A real Celery worker refreshes segments and computes scores inside the right brand."""

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from customers.models import Customer
from segments.models import CustomerScore, Segment
from segments.tasks import compute_scores_task, refresh_segment_task, refresh_segments_task
from tests.conftest import wait_until

pytestmark = pytest.mark.worker


def test_worker_refreshes_segments_and_scores_in_the_brand(celery_worker, committed_brand):
    # given a segment whose membership is out of date
    with tenant_context(committed_brand):
        Customer.objects.create(display_name="A", city="Shanghai")
        segment = Segment.objects.create(name="Shanghai", rule={"all": [{"field": "city", "op": "eq", "value": "Shanghai"}]})
        # when the tasks are queued from the brand
        refresh_segment_task.delay(segment.pk)
        compute_scores_task.delay()
        # then the worker brings membership and scores up to date in this brand
        wait_until(lambda: Segment.objects.get(pk=segment.pk).size == 1)
        wait_until(lambda: CustomerScore.objects.count() == 1)
        Customer.objects.create(display_name="B", city="Shanghai")
        refresh_segments_task.delay()
        wait_until(lambda: Segment.objects.get(pk=segment.pk).size == 2)
    connection.set_schema_to_public()
