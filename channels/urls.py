from django.urls import path

from channels import views, webhooks

app_name = "channels"

urlpatterns = [
    path("hooks/<str:webhook_token>/", webhooks.webhook, name="webhook"),
    path("api/v1/events", webhooks.api_events, name="api-events"),
    path("api/v1/orders", webhooks.api_orders, name="api-orders"),
    path("api/v1/openapi.json", views.openapi_schema, name="api-schema"),
    path("channels/", views.connector_list, name="connector-list"),
    path("channels/new/", views.connector_add, name="connector-add"),
    path("channels/<int:connector_id>/", views.connector_edit, name="connector-edit"),
    path("channels/<int:connector_id>/test-event/", views.connector_test_event, name="connector-test-event"),
    path("channels/<int:connector_id>/events/", views.connector_events, name="connector-events"),
    path("channels/<int:connector_id>/outbound/", views.connector_outbound, name="connector-outbound"),
    path("channels/<int:connector_id>/retry/", views.connector_retry, name="connector-retry"),
]
