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
