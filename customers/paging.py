"""Pagination for lists that can hold a million rows: the count stops at a cap.

An exact COUNT(*) of a filtered million-row set reads every matching row, and on the
customer list it cost more than the page itself. Staff need "how many, roughly" and
"is there a next page"; so the count reads at most CAP + 1 rows (SELECT count(*) FROM
(… LIMIT CAP + 1)) and the page shows "10,000+" beyond it. Pages past the cap are not
offered: at 25 a page that is 400 pages, and past that a filter or a sort finds the
customer faster than paging does (HubSpot's and Chatwoot's lists stop at 10,000 too).
"""

from __future__ import annotations

from functools import cached_property

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

CAP = 10_000


class CappedPaginator(Paginator):
    def __init__(self, object_list, per_page: int, *, cap: int = CAP) -> None:  # noqa: ANN001
        super().__init__(object_list, per_page)
        self.cap = cap

    @cached_property
    def counted(self) -> int:
        """Matching rows, counted up to cap + 1."""
        return self.object_list.order_by()[: self.cap + 1].count()

    @cached_property
    def is_capped(self) -> bool:
        return self.counted > self.cap

    @cached_property
    def count(self) -> int:  # type: ignore[override]
        return min(self.counted, self.cap)


def paginate_capped(request: HttpRequest, items, *, per_page: int = 25, cap: int = CAP) -> Page:  # noqa: ANN001
    return CappedPaginator(items, per_page, cap=cap).get_page(request.GET.get("page"))
