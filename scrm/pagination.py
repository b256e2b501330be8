"""Page a queryset from ?page=, clamping bad numbers instead of raising 404."""

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest


def paginate(request: HttpRequest, items: QuerySet, *, per_page: int = 25) -> Page:
    paginator = Paginator(items, per_page)
    return paginator.get_page(request.GET.get("page"))
