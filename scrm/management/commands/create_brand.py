"""Provision a brand from the command line: schema, domain, first Admin."""

import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from scrm import tenancy


class Command(BaseCommand):
    help = "Create a brand: its schema (cloned from the template), domain and first Admin user."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--admin", default="admin", help="username of the first Admin")
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", help="prompted for when omitted")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        password = options["password"] or getpass.getpass("Password for the first Admin: ")
        try:
            provisioned = tenancy.provision_brand(
                name=options["name"], slug=options["slug"], admin_username=options["admin"],
                admin_email=options["email"], admin_password=password,
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(self.style.SUCCESS(f"Brand {provisioned.brand.slug} ready at http://{provisioned.host}/"))
