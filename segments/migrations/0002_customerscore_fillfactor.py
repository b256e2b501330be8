"""Every score run rewrites every CustomerScore row. With half of each page left free the
new version of a row fits beside the old one, so an update whose indexed columns (tier,
lifecycle, RFM group, participation) did not change is a HOT update: no index is touched,
and the page is pruned on the next run instead of the table doubling until a vacuum."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("segments", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE segments_customerscore SET (fillfactor = 50)",
            reverse_sql="ALTER TABLE segments_customerscore RESET (fillfactor)",
        ),
    ]
