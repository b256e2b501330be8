"""Building import files for tests: CSV text in any encoding, and real .xlsx workbooks."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile


def csv_bytes(rows: list[list[str]], *, encoding: str = "utf-8") -> bytes:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload(content: bytes, name: str = "people.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def _forget_media_root() -> None:
    # django-tenants' TenantFileSystemStorage caches MEDIA_ROOT and (a bug in its
    # setting_changed handler) never forgets it when the setting changes.
    from django.core.files.storage import default_storage

    from customers.models import ImportJob

    for storage in {id(s): s for s in (default_storage, ImportJob._meta.get_field("file").storage)}.values():
        target = getattr(storage, "_wrapped", storage)
        if hasattr(target, "__dict__"):
            target.__dict__.pop("relative_media_root", None)


@pytest.fixture
def media_root(settings, tmp_path):  # noqa: ANN001, ANN201
    """Uploads and error reports of one test go to its own folder."""
    settings.MEDIA_ROOT = tmp_path
    _forget_media_root()
    yield tmp_path
    _forget_media_root()
