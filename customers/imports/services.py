"""An import's life: upload → mapping and preview → queued → running → done or failed.

`run_import` is what the Celery task calls. It loads the whole file in one transaction:
a job ends DONE with every good row in and every bad row in the error report, or FAILED
with nothing imported (a corrupt workbook found halfway leaves no half-import behind).
Progress is published to the brand's cache while the transaction is open, because the
job row's own updates are invisible to other connections until it commits.
"""

from __future__ import annotations

import csv
import itertools
import logging
import queue
import tempfile
import threading
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from customers.bulkload import suspended_upkeep
from customers.export import safe_cell
from customers.imports.loading import Loader, RowError
from customers.imports.mapping import fields_for, guess_mapping, missing_required, target_choices
from customers.imports.parsing import FileFormat, ImportFileError, estimate_rows, open_rows, sniff
from customers.imports.validation import CellError, CleanChunk, Options, RowCleaner
from customers.models import ImportJob
from scrm.staff.services import record_audit

logger = logging.getLogger(__name__)

DEFAULT_MAX_UPLOAD_BYTES = 512 * 1024 * 1024
CHUNK_ROWS = 20_000
# A big import waits at most this long for the tables' exclusive lock (see bulkload);
# readers arriving meanwhile queue behind it, so it is short.
BULK_LOCK_TIMEOUT_MS = 2000
PREVIEW_ROWS = 20
# The error report keeps each original cell, cut to this length (a 100k-character cell is
# reported, not reproduced).
REPORT_CELL_LIMIT = 2000
ACTIVE = (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)


def max_upload_bytes() -> int:
    return int(getattr(settings, "IMPORT_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES))


def _format(job: ImportJob, handle: IO[bytes]) -> FileFormat:
    return sniff(handle, name=job.original_name, encoding=job.options.get("encoding", ""))


# --- upload, mapping, preview ----------------------------------------------------------------


def create_import_job(
    *, upload: UploadedFile, kind: str, actor: User, request: HttpRequest | None = None
) -> ImportJob:
    """Store the file and guess its mapping; raises ImportFileError when it is not a
    readable CSV or Excel file (decided by its content)."""
    name = (upload.name or "upload")[-255:]
    fmt = sniff(upload.file, name=name)
    with open_rows(upload.file, fmt) as (header, _rows):
        mapping = guess_mapping(header, kind)
    upload.file.seek(0)
    language = translation.get_language() or settings.LANGUAGE_CODE
    with transaction.atomic():
        job = ImportJob(kind=kind, original_name=name, mapping=mapping, created_by=actor,
                        options={"language": language, "headers": [h[:200] for h in header[:500]]})
        job.file.save(name, upload, save=False)
        job.save()
        record_audit(actor=actor, action="imports.uploaded", obj=job, request=request,
                     changes={"kind": [None, kind], "file": [None, name], "size": [None, upload.size]})
    return job


@dataclass
class PreviewCell:
    value: str
    error: str = ""


@dataclass
class Preview:
    headers: list[str]
    targets: list[str]  # the field key each column is mapped to ("" for ignored)
    rows: list[tuple[int, list[PreviewCell], list[str]]]  # (row number, cells, row-level errors)
    error: str = ""
    problems: list[str] = field(default_factory=list)


def preview(job: ImportJob, *, mapping: dict[str, str], options: dict[str, Any]) -> Preview:
    """The first rows as the import would see them, each bad cell with its reason."""
    cleaner = RowCleaner(kind=job.kind, options=Options.from_job(options))
    merged = {**job.options, **options}
    try:
        with job.file.open("rb") as handle:
            fmt = sniff(handle, name=job.original_name, encoding=merged.get("encoding", ""))
            with open_rows(handle, fmt) as (header, rows):
                targets = [mapping.get(str(i), "") for i in range(len(header))]
                shown = []
                for row_no, raw in _numbered(rows):
                    cells = [PreviewCell(_short(raw[i] if i < len(raw) else "")) for i in range(len(header))]
                    by_key = {key: raw[i] if i < len(raw) else "" for i, key in enumerate(targets) if key}
                    clean = cleaner.clean(by_key)
                    row_errors = []
                    for key, reason in clean.errors:
                        if key in targets:
                            cells[targets.index(key)].error = reason
                        else:
                            row_errors.append(reason)
                    shown.append((row_no, cells, row_errors))
                    if len(shown) >= PREVIEW_ROWS:
                        break
    except ImportFileError as error:
        return Preview([], [], [], error=str(error))
    return Preview(header, targets, shown, problems=missing_required(mapping, job.kind))


def _short(value: str, limit: int = 80) -> str:
    value = value.replace("\x00", "\ufffd").encode("utf-8", errors="replace").decode("utf-8")
    return value if len(value) <= limit else value[:limit] + "…"


def _numbered(rows: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """(spreadsheet row number, cells) for non-blank rows; the header is row 1."""
    for row_no, raw in enumerate(rows, start=2):
        if any(map(str.strip, raw)):
            yield row_no, raw


def _columns(chunk: list[tuple[int, list[str]]], columns: list[tuple[int, str]]) -> dict[str, list[str]]:
    """The chunk's mapped cells by field key (a short row's missing cells are empty)."""
    width = max((i for i, _key in columns), default=-1) + 1
    pad = [""] * width
    table = list(zip(*(raw if len(raw) >= width else raw + pad[len(raw):] for _no, raw in chunk), strict=False))
    return {key: list(table[i]) for i, key in columns}


def mapping_choices(job: ImportJob) -> list[tuple[str, str]]:
    return target_choices(job.kind)


def start_import(
    *, job: ImportJob, mapping: dict[str, str], options: dict[str, Any], actor: User,
    request: HttpRequest | None = None,
) -> ImportJob:
    """Queue the import; raises ValueError with the reasons when the mapping is incomplete."""
    from customers.imports.tasks import run_import_task

    problems = missing_required(mapping, job.kind)
    if problems:
        raise ValueError(" ".join(problems))
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status != ImportJob.Status.UPLOADED:
            raise ValueError(_("This import has already been started."))
        job.mapping = mapping
        job.options = {**job.options, **options}
        job.status = ImportJob.Status.QUEUED
        job.save(update_fields=["mapping", "options", "status"])
        record_audit(actor=actor, action="imports.started", obj=job, request=request,
                     changes={"mapping": [None, mapping]})
        transaction.on_commit(lambda: run_import_task.delay(job.pk))
    return job


# --- progress ------------------------------------------------------------------------------


def _progress_key(job_id: int) -> str:
    return f"imports:progress:{job_id}"


def progress_of(job: ImportJob) -> ImportJob:
    """The job with the live counts of a running import filled in (not saved)."""
    if job.status == ImportJob.Status.RUNNING:
        live = cache.get(_progress_key(job.pk))
        if live:
            job.processed_rows = live["processed"]
            job.imported_rows = live["imported"]
            job.error_rows = live["rejected"]
    return job


# --- running -------------------------------------------------------------------------------


class ErrorReport:
    """The rows that did not go in: row number, column, reason and the original cells."""

    def __init__(self, header: list[str], mapping: dict[str, str]) -> None:
        self.header = header
        self.column_of = {key: header[int(i)] if int(i) < len(header) else key for i, key in mapping.items()}
        self.file = tempfile.TemporaryFile(mode="w+b")  # noqa: SIM115 - closed by save()
        self.writer = csv.writer(_Encoded(self.file))
        self.file.write(b"\xef\xbb\xbf")
        self.writer.writerow([_("Row"), _("Column"), _("Reason"), *(safe_cell(h) for h in header)])
        self.rows = 0

    def add(self, row_no: int, errors: list[tuple[str, str]], raw: list[str]) -> None:
        self.rows += 1
        original = [safe_cell(_report_text(cell)) for cell in raw]
        for key, reason in errors:
            self.writer.writerow([row_no, safe_cell(self.column_of.get(key, "")), safe_cell(reason), *original])

    def save_to(self, job: ImportJob) -> None:
        self.file.seek(0)
        job.error_report.save(f"import-{job.pk}-errors.csv", File(self.file), save=False)
        self.file.close()


class _Encoded:
    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle

    def write(self, text: str) -> None:
        self.handle.write(text.encode("utf-8", errors="replace"))


def _report_text(cell: str) -> str:
    cell = cell.replace("\x00", "\\0")
    return cell if len(cell) <= REPORT_CELL_LIMIT else cell[:REPORT_CELL_LIMIT] + "…"


def _reason(error: RowError, column_of: dict[str, str]) -> str:
    if error.code == "duplicate":
        return _("same %(column)s as row %(row)s") % {"column": column_of.get(error.column, error.column), "row": error.detail}
    if error.code == "conflict":
        return _("conflicts with customers %(ids)s") % {"ids": _(" and ").join(error.detail.split(","))}
    if error.code == "order_exists":
        return _("this order number is already imported")
    if error.code == "unknown_customer":
        return _("no customer with this member ID, email or phone")
    return error.code


def run_import(*, job_id: int) -> ImportJob:
    """Load the job's file. Safe to run again: a finished job is left alone, a job whose
    worker died mid-run starts over (its transaction was rolled back)."""
    job = ImportJob.objects.get(pk=job_id)
    if job.status not in ACTIVE:
        return job
    job.status, job.started_at = ImportJob.Status.RUNNING, timezone.now()
    job.save(update_fields=["status", "started_at"])
    with translation.override(job.options.get("language") or settings.LANGUAGE_CODE):
        try:
            _load(job)
        except ImportFileError as error:
            _fail(job, str(error))
        except Exception as error:  # recorded on the job and logged, then the task ends
            logger.exception("import failed", extra={"import_id": job.pk})
            _fail(job, _("The import stopped on an unexpected error (%(error)s); nothing was imported.") % {"error": type(error).__name__})
    cache.delete(_progress_key(job.pk))
    return job


def _fail(job: ImportJob, message: str) -> None:
    job.status, job.error, job.finished_at = ImportJob.Status.FAILED, message, timezone.now()
    job.processed_rows = job.imported_rows = job.error_rows = 0
    job.save(update_fields=["status", "error", "finished_at", "processed_rows", "imported_rows", "error_rows"])
    record_audit(actor=job.created_by, action="imports.failed", obj=job, changes={"error": [None, message]})


def _load(job: ImportJob) -> None:
    options = Options.from_job(job.options)
    cleaner = RowCleaner(kind=job.kind, options=options)
    now = timezone.now()
    with job.file.open("rb") as handle:
        fmt = _format(job, handle)
        job.total_rows = estimate_rows(handle, fmt)
        job.save(update_fields=["total_rows"])
        processed = imported = 0
        with transaction.atomic(), open_rows(handle, fmt) as (header, rows):
            loader = Loader(kind=job.kind, options=options, actor_id=job.created_by_id, now=now)
            report = ErrorReport(header, job.mapping)
            columns = [(int(i), key) for i, key in job.mapping.items()]
            language = job.options.get("language") or settings.LANGUAGE_CODE
            chunks = _in_background(_cleaned_chunks(rows, columns, cleaner, language))
            tables = loader.bulk_tables(job.total_rows or 0)
            with closing(chunks), suspended_upkeep(
                tables, enabled=bool(tables), keep_unique=True, lock_timeout_ms=BULK_LOCK_TIMEOUT_MS,
            ) as bulk:
                loader.exclusive = bulk
                for chunk in chunks:
                    for index, errors in sorted(chunk.clean.errors.items()):
                        report.add(chunk.rows[index][0], errors, chunk.rows[index][1])
                    result = loader.load(chunk.good_row_nos, chunk.good_values, last=chunk.last)
                    if result.errors:
                        raw_of = {row_no: raw for row_no, raw in chunk.rows}
                        for error in result.errors:
                            report.add(error.row_no, [(error.column, _reason(error, report.column_of))], raw_of[error.row_no])
                    processed += len(chunk.rows)
                    imported += result.imported
                    cache.set(_progress_key(job.pk), {"processed": processed, "imported": imported, "rejected": report.rows}, 3600)
                loader.flush_identities()
            loader.finish()
            job.status, job.finished_at = ImportJob.Status.DONE, timezone.now()
            job.total_rows = job.processed_rows = processed
            job.imported_rows, job.error_rows = imported, report.rows
            job.options = {**job.options, "bulk": bulk}
            if report.rows:
                report.save_to(job)
            job.save()
            record_audit(actor=job.created_by, action="imports.finished", obj=job,
                         changes={"rows": [None, processed], "imported": [None, imported], "rejected": [None, report.rows]})


@dataclass
class _CleanedChunk:
    rows: list[tuple[int, list[str]]]  # (row number, raw cells)
    clean: CleanChunk
    good_row_nos: list[int]  # rows without a cell error, and their clean values by column
    good_values: dict[str, list[Any]]
    last: bool


def _cleaned_chunks(
    rows: Iterator[list[str]], columns: list[tuple[int, str]], cleaner: RowCleaner, language: str,
) -> Iterator[_CleanedChunk]:
    """Read and clean the file chunk by chunk (pure Python, no database)."""
    with translation.override(language):  # the reasons are written in the job's language
        numbered = _numbered(rows)
        chunk = list(itertools.islice(numbered, CHUNK_ROWS))
        while chunk:
            following = list(itertools.islice(numbered, CHUNK_ROWS))
            clean = cleaner.clean_chunk(_columns(chunk, columns), len(chunk))
            if clean.errors:
                good = [i for i in range(len(chunk)) if i not in clean.errors]
                values = {key: [column[i] for i in good] for key, column in clean.values.items()}
                row_nos = [chunk[i][0] for i in good]
            else:
                values, row_nos = clean.values, [row_no for row_no, _raw in chunk]
            yield _CleanedChunk(chunk, clean, row_nos, values, last=not following)
            chunk = following


_DONE = object()


def _in_background(items: Iterator[Any], *, depth: int = 2) -> Iterator[Any]:
    """`items`, produced by a thread up to `depth` ahead: reading and cleaning the next
    chunk (Python) overlaps loading this one (PostgreSQL, which releases the GIL while
    the connection waits). An error in the producer is raised here; leaving the loop
    early stops the producer."""
    handoff: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(entry: tuple[Any, BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                handoff.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer((item, None)):
                    return
            offer((_DONE, None))
        except BaseException as error:  # handed to the consumer, which raises it
            offer((_DONE, error))

    producer = threading.Thread(target=produce, name="import-reader", daemon=True)
    producer.start()
    try:
        while True:
            item, error = handoff.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        producer.join()


__all__ = ["CellError", "ImportFileError", "create_import_job", "fields_for", "preview", "run_import", "start_import"]
