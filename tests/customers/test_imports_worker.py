"""An import through a real Celery worker: queued from the page, progress polled, done."""

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from customers.imports import services
from customers.models import Customer, ImportJob
from tests.conftest import make_staff, wait_until
from tests.customers.import_files import csv_bytes, upload

pytestmark = pytest.mark.worker


def test_a_worker_runs_the_import_and_the_page_shows_progress_then_completion(celery_worker, committed_brand):
    # given a marketer's uploaded file of 2,500 people, one of them bad
    rows = [["姓名", "邮箱"]] + [[f"客户{i}", f"p{i}@example.com"] for i in range(2500)] + [["Bad", "nope"]]
    with tenant_context(committed_brand):
        marketer = make_staff("Marketer")
        job = services.create_import_job(upload=upload(csv_bytes(rows)), kind="customers", actor=marketer)
        client = Client(HTTP_HOST=committed_brand.primary_host())
        client.force_login(marketer, backend="django.contrib.auth.backends.ModelBackend")
    # when they confirm the mapping (the task is queued on commit, to the real worker)
    response = client.post(f"/customers/imports/{job.pk}/mapping/", {"col_0": "display_name", "col_1": "email", "phone_region": "CN", "action": "start"})
    assert response.status_code == 302
    # then the progress partial polls while it runs, and stops once done
    seen = []

    def finished() -> bool:
        body = client.get(f"/customers/imports/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
        seen.append(body)
        return 'data-status="done"' in body or 'data-status="failed"' in body

    wait_until(finished, timeout=120, interval=0.05)
    assert any("every 1s" in body for body in seen)
    assert "every 1s" not in seen[-1] and 'data-status="done"' in seen[-1]
    with tenant_context(committed_brand):
        job.refresh_from_db()
        assert (job.status, job.processed_rows, job.imported_rows, job.error_rows) == (ImportJob.Status.DONE, 2501, 2500, 1)
        assert Customer.objects.count() == 2500
    assert 'data-testid="error-report"' in seen[-1]
