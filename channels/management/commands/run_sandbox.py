"""Run one platform sandbox's API server in the foreground (for the demo and manual tests)."""

import time

from django.core.management.base import BaseCommand

from channels.sandboxes.meta import MetaSandbox
from channels.sandboxes.traffic import SANDBOX, SANDBOX_AES_KEY
from channels.sandboxes.wechat import WeChatSandbox
from channels.sandboxes.x import XSandbox


class Command(BaseCommand):
    help = "Serve a platform sandbox's APIs (send, token) on 127.0.0.1:PORT until interrupted."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("platform", choices=["wechat", "meta", "x"])
        parser.add_argument("--port", type=int, default=0)

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        name, config, secrets = SANDBOX[{"wechat": "wechat_oa", "meta": "facebook", "x": "x"}[options["platform"]]]
        if options["platform"] == "wechat":
            sandbox = WeChatSandbox(token=secrets["token"], appid=config["appid"], app_secret=secrets["app_secret"],
                                    original_id=config["original_id"], encoding_aes_key=SANDBOX_AES_KEY, port=options["port"])
        elif options["platform"] == "meta":
            sandbox = MetaSandbox(app_secret=secrets["app_secret"], page_id=config["page_id"], page_token=secrets["page_token"], port=options["port"])
        else:
            sandbox = XSandbox(consumer_secret=secrets["consumer_secret"], user_id=config["user_id"], port=options["port"])
        sandbox.start()
        self.stdout.write(self.style.SUCCESS(f"{name} sandbox APIs at {sandbox.server.url}"))
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            sandbox.stop()
