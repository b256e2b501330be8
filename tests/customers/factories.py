"""factory_boy factories for customer profiles and what hangs off them."""

from datetime import UTC, datetime
from decimal import Decimal

import factory

from customers.models import Consent, Customer, Identity, Interaction, Order, Tag

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    display_name = factory.Sequence(lambda n: f"Customer {n}")
    city = "Shanghai"
    last_seen_at = NOW


class IdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Identity

    customer = factory.SubFactory(CustomerFactory)
    kind = Identity.Kind.EMAIL
    value = factory.Sequence(lambda n: f"person{n}@example.com")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"tag-{n}")


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    customer = factory.SubFactory(CustomerFactory)
    channel = "wechat"
    kind = Interaction.Kind.MESSAGE_IN
    occurred_at = NOW
    text = "你好"


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    customer = factory.SubFactory(CustomerFactory)
    external_id = factory.Sequence(lambda n: f"SO-{n:06d}")
    ordered_at = NOW
    amount = Decimal("199.00")
    channel = "web"


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consent

    customer = factory.SubFactory(CustomerFactory)
    channel = "email"
    purpose = Consent.Purpose.MARKETING
    status = Consent.Status.GRANTED
    recorded_at = NOW
