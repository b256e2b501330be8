from django.urls import path

from customers import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="customer-list"),
    path("tags/", views.customer_bulk_tag, name="customer-bulk-tag"),
    path("<int:customer_id>/", views.customer_detail, name="customer-detail"),
    path("<int:customer_id>/timeline/", views.customer_timeline, name="customer-timeline"),
    path("<int:customer_id>/notes/", views.customer_note_add, name="customer-note-add"),
]

# Identity merges (customers/merge_views.py).
from customers import merge_views  # noqa: E402

urlpatterns += [
    path("<int:customer_id>/merges/", merge_views.merge_panel, name="customer-merges"),
    path(
        "<int:customer_id>/merges/search/", merge_views.merge_search, name="customer-merge-search"
    ),
    path(
        "<int:customer_id>/merges/with/<int:other_id>/",
        merge_views.merge_confirm,
        name="customer-merge-confirm",
    ),
    path("merges/<int:merge_id>/unmerge/", merge_views.merge_undo, name="merge-undo"),
    path("merge-suggestions/", merge_views.suggestion_queue, name="merge-suggestions"),
    path("merge-suggestions/run/", merge_views.suggestion_run_start, name="merge-suggestions-run"),
    path(
        "merge-suggestions/progress/",
        merge_views.suggestion_run_progress,
        name="merge-suggestions-progress",
    ),
    path(
        "merge-suggestions/<int:suggestion_id>/accept/",
        merge_views.suggestion_accept,
        name="merge-suggestion-accept",
    ),
    path(
        "merge-suggestions/<int:suggestion_id>/dismiss/",
        merge_views.suggestion_dismiss,
        name="merge-suggestion-dismiss",
    ),
]
