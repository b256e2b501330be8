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

        # A merge carries the merged person's memberships and their history to the
        # survivor (duplicates stay put); the next refresh reconciles dynamic segments.
        from customers.merging import register_customer_relation

        register_customer_relation(SegmentMembership)
        register_customer_relation(MembershipEvent)

        # Deleting (or restoring) a custom attribute flags (or clears) the segments whose
        # rules use it, at once rather than at their next refresh.
        from django.db import transaction
        from django.db.models.signals import post_save

        from customers.models import AttributeDefinition

        def reflag(sender, instance, update_fields=None, **kwargs):  # noqa: ANN001, ANN003, ANN202, ARG001
            if update_fields is None or "deleted_at" in update_fields:
                from segments.services import flag_invalid_segments

                transaction.on_commit(flag_invalid_segments)

        post_save.connect(reflag, sender=AttributeDefinition, dispatch_uid="segments-reflag-on-attribute", weak=False)
