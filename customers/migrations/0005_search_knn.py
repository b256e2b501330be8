"""Digits typed in the search box find phones by their last digits, the way staff read a
number back from a caller: reverse(value) LIKE reverse(digits) || '%' walks this index
instead of the trigram index (digits have few distinct trigrams, so their trigram posting
lists are long).

Built CONCURRENTLY (a non-atomic migration) so a brand's identity table stays writable
while a multi-million-row index is built. RunSQL leaves the model state unchanged: the
index is read only by the raw SQL in customers/selectors.py.

(GiST trigram indexes for `ORDER BY display_name <->> query LIMIT n` were measured here at
1M customers and left out: the KNN walk read ~3,900 of the index's 6,500 pages for a common
fragment, 145-200 ms, no faster than the GIN bitmap it would replace.)
"""

from django.db import migrations


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("customers", "0004_search_indexes"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS identity_phone_suffix"
            " ON customers_identity (reverse(value) text_pattern_ops) WHERE kind = 'phone'",
            "DROP INDEX CONCURRENTLY IF EXISTS identity_phone_suffix",
        ),
    ]
