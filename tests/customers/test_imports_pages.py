"""The import pages: upload, mapping with a live preview, progress, the error report,
roles, and another brand's imports staying out of reach."""

import pytest
from django_tenants.utils import tenant_context

from customers.imports import services
from customers.models import Customer, ImportJob
from tests.customers.import_files import (
    csv_bytes,
    media_root,  # noqa: F401 - fixture
    upload,
    xlsx_bytes,
)

HOSTILE = "<script>alert(1)</script>"


pytestmark = pytest.mark.usefixtures("media_root")


def test_the_imports_page_shows_an_empty_state_and_the_upload_form(staff_client):
    client, _user = staff_client("Marketer")
    body = client.get("/customers/imports/").content.decode()
    assert 'data-testid="empty-state"' in body
    assert 'data-testid="upload-form"' in body


@pytest.mark.parametrize("role", ["Agent"])
def test_agents_cannot_import_or_export(staff_client, role):
    client, _user = staff_client(role)
    assert client.get("/customers/imports/").status_code == 403
    assert client.get("/customers/export.csv").status_code == 403


def test_upload_guesses_the_mapping_and_previews_rows_with_cell_errors(staff_client):
    # given a marketer and a file with Chinese headers and a bad email
    client, _user = staff_client("Marketer")
    content = csv_bytes([["姓名", "邮箱", "手机"], [HOSTILE, "bad-email", "13812345678"], ["李雷", "li@example.com", ""]])
    # when they upload it
    response = client.post("/customers/imports/upload/", {"kind": "customers", "file": upload(content)})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/customers/imports/{job.pk}/mapping/"
    assert job.mapping == {"0": "display_name", "1": "email", "2": "phone"}
    # then the mapping page previews the rows, flags the bad cell, and escapes hostile text
    body = client.get(f"/customers/imports/{job.pk}/mapping/").content.decode()
    assert body.count('data-testid="preview-row"') == 2
    assert "not a valid email address" in body
    assert HOSTILE not in body and "&lt;script&gt;" in body


def test_changing_the_mapping_re_renders_only_the_preview(staff_client):
    client, _user = staff_client("Admin")
    client.post("/customers/imports/upload/", {"kind": "customers", "file": upload(csv_bytes([["a", "b"], ["x@example.com", "1"]]))})
    job = ImportJob.objects.get()
    response = client.post(f"/customers/imports/{job.pk}/mapping/", {"col_0": "", "col_1": "", "phone_region": "CN"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="preview"')
    assert 'data-testid="mapping-problem"' in body  # nothing identifies a customer
    response = client.post(f"/customers/imports/{job.pk}/mapping/", {"col_0": "email", "col_1": "", "phone_region": "CN"}, HTTP_HX_REQUEST="true")
    assert 'data-testid="mapping-problem"' not in response.content.decode()


def test_a_file_that_is_not_csv_or_excel_is_refused_at_upload(staff_client):
    client, _user = staff_client("Marketer")
    response = client.post("/customers/imports/upload/", {"kind": "customers", "file": upload(b"%PDF-1.4 ...", "people.csv")})
    assert response.status_code == 400
    assert "PDF" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_file_over_the_size_limit_is_refused(staff_client, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 100
    client, _user = staff_client("Marketer")
    response = client.post("/customers/imports/upload/", {"kind": "customers", "file": upload(b"email\n" + b"a@example.com\n" * 20)})
    assert response.status_code == 400
    assert "too big" in response.content.decode()


def test_starting_queues_the_job_and_the_finished_page_links_the_report(staff_client, django_capture_on_commit_callbacks):
    client, _user = staff_client("Marketer")
    client.post("/customers/imports/upload/", {"kind": "customers", "file": upload(
        xlsx_bytes([["Email", "Name"], ["good@example.com", "Good"], ["bad", "Bad"]]), "people.xlsx")})
    job = ImportJob.objects.get()
    # when the user confirms (the task is queued after commit; here we run its service)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(f"/customers/imports/{job.pk}/mapping/", {"col_0": "email", "col_1": "display_name", "phone_region": "CN", "action": "start"})
    assert response.status_code == 302 and response["Location"] == f"/customers/imports/{job.pk}/"
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED
    progress = client.get(f"/customers/imports/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in progress and 'role="progressbar"' in progress
    services.run_import(job_id=job.pk)
    # then the page shows the counts and the error report downloads
    body = client.get(f"/customers/imports/{job.pk}/").content.decode()
    assert 'data-testid="error-report"' in body and "every 1s" not in body
    report = b"".join(client.get(f"/customers/imports/{job.pk}/errors.csv").streaming_content).decode("utf-8-sig")
    assert "not a valid email address" in report and "bad" in report
    assert Customer.objects.filter(display_name="Good").exists()
    # and the history lists it
    assert 'data-testid="import-row"' in client.get("/customers/imports/").content.decode()


def test_another_brands_import_ids_give_404(staff_client, other_brand):
    client, _user = staff_client("Admin")
    with tenant_context(other_brand):
        theirs = ImportJob.objects.create(kind="customers", original_name="beta-secret.csv", file="imports/x.csv",
                                          error_report="imports/errors/x.csv")
    for path in ("", "mapping/", "errors.csv"):
        response = client.get(f"/customers/imports/{theirs.pk}/{path}")
        assert response.status_code == 404, path
        assert b"beta-secret" not in response.content
    assert client.post(f"/customers/imports/{theirs.pk}/mapping/", {"action": "start"}).status_code == 404
