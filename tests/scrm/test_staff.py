"""Admins invite staff, change roles, deactivate; every change is audited."""

from django.contrib.auth.models import User
from django.core import mail

from scrm.staff.models import AuditEntry
from scrm.staff.roles import Role, role_of


def test_admin_invites_a_marketer_who_gets_a_set_password_link(staff_client, django_capture_on_commit_callbacks):
    # given an admin
    client, admin = staff_client("Admin")
    # when they invite a marketer
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/staff/invite/", {"username": "mei", "email": "Mei@Example.com", "role": "Marketer"})
    # then the account exists without a usable password, with the role, and an email went out
    assert response.status_code == 302
    mei = User.objects.get(username="mei")
    assert role_of(mei) == Role.MARKETER
    assert not mei.has_usable_password()
    assert mail.outbox[-1].to == ["mei@example.com"]
    assert "/password/reset/" in mail.outbox[-1].body
    entry = AuditEntry.objects.get(action="staff.created", object_id=str(mei.pk))
    assert entry.actor == admin
    assert entry.changes["role"] == [None, "Marketer"]
    assert entry.ip_address == "127.0.0.1"


def test_invite_rejects_a_duplicate_username(staff_client):
    client, _admin = staff_client("Admin")
    User.objects.create_user("taken")
    response = client.post("/staff/invite/", {"username": "TAKEN", "email": "t@example.com", "role": "Agent"})
    assert response.status_code == 200
    assert "already exists" in response.content.decode()


def test_admin_changes_a_role_and_it_is_audited(staff_client):
    client, admin = staff_client("Admin")
    _c, agent = staff_client("Agent")
    response = client.post(f"/staff/{agent.pk}/role/", {"role": "Marketer"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert f'id="staff-{agent.pk}"' in response.content.decode()
    assert role_of(User.objects.get(pk=agent.pk)) == Role.MARKETER
    entry = AuditEntry.objects.get(action="staff.role_changed")
    assert entry.changes == {"role": ["Agent", "Marketer"]}
    assert entry.actor_name == admin.username


def test_deactivated_staff_cannot_log_in_and_lose_their_sessions(staff_client):
    client, _admin = staff_client("Admin")
    agent_client, agent = staff_client("Agent")
    assert agent_client.get("/").status_code == 200
    client.post(f"/staff/{agent.pk}/active/", {"active": "0"})
    assert not User.objects.get(pk=agent.pk).is_active
    assert agent_client.get("/").status_code == 302  # session ended
    assert AuditEntry.objects.filter(action="staff.deactivated", object_id=str(agent.pk)).exists()


def test_the_last_admin_cannot_be_demoted_or_deactivate_themselves(staff_client):
    User.objects.filter(groups__name="Admin").update(is_active=False)  # only the new admin remains
    client, admin = staff_client("Admin")
    client.post(f"/staff/{admin.pk}/role/", {"role": "Agent"})
    client.post(f"/staff/{admin.pk}/active/", {"active": "0"})
    admin.refresh_from_db()
    assert admin.is_active
    assert role_of(User.objects.get(pk=admin.pk)) == Role.ADMIN


def test_audit_log_is_searchable(staff_client):
    client, _admin = staff_client("Admin")
    client.post("/staff/invite/", {"username": "zhang.wei", "email": "zw@example.com", "role": "Agent"})
    client.post("/staff/invite/", {"username": "li.na", "email": "ln@example.com", "role": "Agent"})
    response = client.get("/audit/", {"q": "zhang"})
    body = response.content.decode()
    assert "zhang.wei" in body
    assert "li.na" not in body
    response = client.get("/audit/", {"action": "staff.created"}, HTTP_HX_REQUEST="true")
    assert response.content.decode().count('data-testid="audit-row"') >= 2
