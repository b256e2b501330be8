from django.urls import path

from customers import attribute_views, import_views, privacy_views, views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="customer-list"),
    path("tags/", views.customer_bulk_tag, name="customer-bulk-tag"),
    path("<int:customer_id>/", views.customer_detail, name="customer-detail"),
    path("<int:customer_id>/timeline/", views.customer_timeline, name="customer-timeline"),
    path("<int:customer_id>/notes/", views.customer_note_add, name="customer-note-add"),
    # Data-subject requests, consent and attributes (customers/privacy_views.py, attribute_views.py)
    path("privacy/", privacy_views.data_request_list, name="data-request-list"),
    path("privacy/<int:data_request_id>/download/", privacy_views.data_request_download, name="data-request-download"),
    path("<int:customer_id>/export/", privacy_views.customer_export, name="customer-export"),
    path("<int:customer_id>/erase/", privacy_views.customer_erase, name="customer-erase"),
    path("<int:customer_id>/consents/", privacy_views.customer_consents, name="customer-consents"),
    path("<int:customer_id>/consents/record/", privacy_views.customer_consent_record, name="customer-consent-record"),
    path("preferences/<str:token>/", privacy_views.preference_center, name="preference-center"),
    path("attributes/", attribute_views.attribute_schema, name="attribute-schema"),
    path("attributes/add/", attribute_views.attribute_create, name="attribute-create"),
    path("attributes/<int:definition_id>/", attribute_views.attribute_update, name="attribute-update"),
    path("attributes/<int:definition_id>/delete/", attribute_views.attribute_delete, name="attribute-delete"),
    path("<int:customer_id>/attributes/", attribute_views.customer_attributes, name="customer-attributes"),
    path("<int:customer_id>/attributes/save/", attribute_views.customer_attributes_save, name="customer-attributes-save"),
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

# Import and export (customers/import_views.py).
urlpatterns += [
    path("export.csv", import_views.customer_export, name="customer-export"),
    path("imports/", import_views.import_list, name="import-list"),
    path("imports/upload/", import_views.import_upload, name="import-upload"),
    path("imports/<int:import_id>/", import_views.import_detail, name="import-detail"),
    path("imports/<int:import_id>/mapping/", import_views.import_mapping, name="import-mapping"),
    path("imports/<int:import_id>/errors.csv", import_views.import_error_report, name="import-error-report"),
]
