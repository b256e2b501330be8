from django.urls import path

from customers import attribute_views, privacy_views, views

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
