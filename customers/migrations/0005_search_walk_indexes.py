"""Indexes for the search box at a million customers (read by the raw SQL and walks in
customers/selectors.py; RunSQL leaves the model state unchanged).

- identity_phone_suffix: digits typed in the search box find phones by their last digits,
  the way staff read a number back from a caller: reverse(value) LIKE reverse(digits)||'%'
  walks this index instead of the trigram index (digits have few distinct trigrams, so
  their trigram posting lists are long).
- customer_live_last_seen_name and identity_searchable_by_customer: a common fragment
  ("peters") is searched by walking the list in its default order and testing each
  customer; these carry the name beside the sort key, and the searchable identity values
  beside the customer id, so each test is an index-only read (selectors._fragment_walk).

Built CONCURRENTLY (a non-atomic migration) so a brand's tables stay writable while
million-row indexes are built.

GiST trigram indexes for relevance order (`ORDER BY display_name <->> query LIMIT n`) were
measured at 1M customers and left out: the KNN walk read ~3,900 of the index's 6,500 pages
for a common fragment (145-200 ms), no faster than the GIN bitmap it would replace.
"""

from django.db import migrations

LIVE = "erased_at IS NULL AND merged_into_id IS NULL"
SEARCHABLE = "kind IN ('email', 'phone', 'member_id')"  # channels.SEARCHABLE_IDENTITY_KINDS


def _index(name: str, definition: str) -> migrations.RunSQL:
    return migrations.RunSQL(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} {definition}",
        f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("customers", "0004_search_indexes"),
    ]

    operations = [
        _index(
            "identity_phone_suffix",
            "ON customers_identity (reverse(value) text_pattern_ops) WHERE kind = 'phone'",
        ),
        _index(
            "customer_live_last_seen_name",
            "ON customers_customer (last_seen_at DESC NULLS LAST, id DESC)"
            f" INCLUDE (display_name) WHERE {LIVE}",
        ),
        _index(
            "identity_searchable_by_customer",
            f"ON customers_identity (customer_id) INCLUDE (value) WHERE {SEARCHABLE}",
        ),
    ]
