from django.urls import path

from customers import import_views, views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="customer-list"),
    path("tags/", views.customer_bulk_tag, name="customer-bulk-tag"),
    path("<int:customer_id>/", views.customer_detail, name="customer-detail"),
    path("<int:customer_id>/timeline/", views.customer_timeline, name="customer-timeline"),
    path("<int:customer_id>/notes/", views.customer_note_add, name="customer-note-add"),
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
