"""The nightly full refresh ages activity out of the windows that ingestion only adds to."""

from datetime import timedelta

from django.utils import timezone

from customers.models import Customer, Interaction
from customers.tasks import refresh_all_aggregates_task
from tests.customers.factories import CustomerFactory


def test_the_nightly_refresh_ages_old_activity_out_of_the_windows(brand):
    customer = CustomerFactory()
    # Counted while recent (what ingestion did 40 days ago) ...
    Interaction.objects.create(customer=customer, channel="wechat", kind="message_in",
                                     occurred_at=timezone.now() - timedelta(days=40), external_id="old-1")
    Customer.objects.filter(pk=customer.pk).update(interaction_counts={"wechat": {"7": 1, "30": 1, "90": 1}},
                                                   total_interactions_30d=1)
    refresh_all_aggregates_task.run()
    customer.refresh_from_db()
    assert customer.interaction_counts == {"wechat": {"7": 0, "30": 0, "90": 1}}
    assert customer.total_interactions_30d == 0
