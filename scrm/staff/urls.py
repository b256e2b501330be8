from django.urls import path

from scrm.staff import views

app_name = "staff"

urlpatterns = [
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("password/", views.password_change, name="password-change"),
    path("password/done/", views.password_change_done, name="password-change-done"),
    path("password/reset/", views.password_reset, name="password-reset"),
    path("password/reset/sent/", views.password_reset_sent, name="password-reset-sent"),
    path("password/reset/<uidb64>/<token>/", views.password_reset_confirm, name="password-reset-confirm"),
    path("password/reset/complete/", views.password_reset_complete, name="password-reset-complete"),
    path("staff/", views.staff_list, name="staff-list"),
    path("staff/invite/", views.staff_invite, name="staff-invite"),
    path("staff/<int:user_id>/role/", views.staff_change_role, name="staff-change-role"),
    path("staff/<int:user_id>/active/", views.staff_set_active, name="staff-set-active"),
    path("audit/", views.audit_log, name="audit-log"),
    path("system/", views.system, name="system"),
]
