"""Send realistic sandbox traffic (WeChat, Facebook, X, website events, orders) into a brand
through its real webhooks, for the demo and for benchmarks."""

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from channels.sandboxes.base import WebhookSender
from channels.sandboxes.traffic import ensure_sandbox_connectors, plan_traffic, send_all
from scrm.models import Brand


class Command(BaseCommand):
    help = "Deliver N signed sandbox webhooks into a brand (some redelivered, as platforms do)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--brand", required=True, help="the brand's slug")
        parser.add_argument("--events", type=int, default=200)
        parser.add_argument("--customers", type=int, default=0, help="distinct people (default: events / 10)")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="where the web server listens")
        parser.add_argument("--concurrency", type=int, default=8)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        if not 1 <= options["events"] <= 10_000_000:
            raise CommandError("--events must be between 1 and 10,000,000")
        brand = Brand.objects.filter(slug=options["brand"], is_template=False).first()
        if brand is None:
            raise CommandError(f"No brand with slug {options['brand']!r}")
        with tenant_context(brand):
            connectors = ensure_sandbox_connectors()
            host = brand.primary_host()
        planned = list(plan_traffic(connectors, events=options["events"], seed=options["seed"],
                                    customers=options["customers"] or max(1, options["events"] // 10)))
        report = send_all(WebhookSender(options["base_url"], host), planned, concurrency=options["concurrency"])
        statuses = ", ".join(f"{status}: {count}" for status, count in sorted(report.statuses.items()))
        self.stdout.write(self.style.SUCCESS(
            f"{brand.slug}: {report.sent} deliveries in {report.seconds:.1f} s ({report.rate:,.0f}/s); "
            f"answers {statuses}; ack p50 {report.median_ms:.1f} ms, p99 {report.percentile(99):.1f} ms"
        ))
