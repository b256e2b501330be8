"""Fill a brand with synthetic customers (demo data and benchmarks), loaded with COPY."""

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from customers.generator import generate
from scrm.models import Brand


class Command(BaseCommand):
    help = "Generate synthetic customers, identities, interactions, orders, consents and tags in a brand."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--brand", required=True, help="the brand's slug")
        parser.add_argument("--customers", type=int, default=1_000)
        parser.add_argument("--seed", type=int, default=0)
        bulk = parser.add_mutually_exclusive_group()
        bulk.add_argument("--bulk", dest="bulk", action="store_true", default=None,
                          help="drop and rebuild constraints and indexes around the load")
        bulk.add_argument("--no-bulk", dest="bulk", action="store_false")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        if not 1 <= options["customers"] <= 5_000_000:
            raise CommandError("--customers must be between 1 and 5,000,000")
        brand = Brand.objects.filter(slug=options["brand"], is_template=False).first()
        if brand is None:
            raise CommandError(f"No brand with slug {options['brand']!r}")
        total = options["customers"]

        def progress(done: int, _total: int) -> None:
            self.stdout.write(f"\r  {done:>10,} / {total:,} customers ({100 * done // total}%)", ending="")
            self.stdout.flush()

        with schema_context(brand.schema_name):
            stats = generate(customers=total, seed=options["seed"], bulk=options["bulk"], progress=progress)
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(
            f"{brand.slug}: {stats.customers:,} customers, {stats.identities:,} identities, "
            f"{stats.interactions:,} interactions, {stats.orders:,} orders, {stats.consents:,} consents, "
            f"{stats.customer_tags:,} tags in {stats.seconds:.1f} s ({stats.rows_per_second:,.0f} rows/s)"
        ))
