# The app's starting point: the inbox (0002_inbox) and campaigns (0002_campaigns) build on it.
from django.db import migrations


class Migration(migrations.Migration):
    initial = True
    dependencies: list = []
    operations: list = []
