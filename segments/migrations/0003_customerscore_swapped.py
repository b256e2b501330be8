"""The score run now fills a fresh copy of the score table and swaps it in
(segments.table_swap) instead of updating every row, so the free half of each page
that kept those updates HOT (0002) is only wasted space and wasted reads."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("segments", "0002_customerscore_fillfactor"),
    ]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE segments_customerscore RESET (fillfactor)",
            reverse_sql="ALTER TABLE segments_customerscore SET (fillfactor = 50)",
        ),
    ]
