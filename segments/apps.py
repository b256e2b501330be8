from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "segments"

    def ready(self) -> None:
        # Memberships, their history and scores are data about a person: exported with
        # a data-subject request and removed by an erasure (customers.privacy).
        from customers import privacy
        from segments.models import CustomerScore, MembershipEvent, SegmentMembership

        for name, model in (
            ("segment_memberships", SegmentMembership),
            ("segment_events", MembershipEvent),
            ("scores", CustomerScore),
        ):
            privacy.register_customer_table(
                name, model,
                erase=lambda ids, model=model: model.objects.filter(customer_id__in=ids).delete()[0],
            )
