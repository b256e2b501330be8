"""Seed the demo brand once: `demo` with admin / marketer / agent (password demo12345)."""

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django_tenants.utils import tenant_context

from scrm import tenancy
from scrm.models import Brand
from scrm.staff import services
from scrm.staff.roles import Role

DEMO_PASSWORD = "demo12345"  # demo only; printed by `make up`


class Command(BaseCommand):
    help = "Create the demo brand with one login per role, unless it exists."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--customers", type=int, default=2000)

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        if Brand.objects.filter(slug="demo").exists():
            self.stdout.write("• demo brand exists; not reseeding")
            return
        self.stdout.write("• seeding the demo brand…")
        provisioned = tenancy.provision_brand(
            name="Demo Brand", slug="demo", admin_username="admin",
            admin_email="admin@demo.example", admin_password=DEMO_PASSWORD,
        )
        with tenant_context(provisioned.brand):
            for username, role in (("marketer", Role.MARKETER), ("agent", Role.AGENT)):
                services.create_staff_user(
                    username=username, email=f"{username}@demo.example", role=role,
                    password=DEMO_PASSWORD, actor=None,
                )
        with tenant_context(provisioned.brand):
            # Sandbox channels (WeChat, Facebook, X, website, shop); traffic:
            # `manage.py drive_sandbox_traffic --brand demo --events 500` once the web server runs.
            from channels.sandboxes.traffic import ensure_sandbox_connectors

            ensure_sandbox_connectors()
        if "generate_customers" in _commands():
            call_command("generate_customers", "--brand", "demo", "--customers", str(options["customers"]))


def _commands() -> set[str]:
    from django.core.management import get_commands

    return set(get_commands())
