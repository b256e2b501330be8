"""Read an uploaded file as a header and a stream of rows of strings.

The file's type is decided by its content, not its name: an .xlsx is a zip holding an
Excel workbook, anything else must be text in a common encoding (UTF-8 with or without
a BOM, UTF-16 with a BOM, GB18030). Rows are streamed: a CSV is decoded incrementally
and an .xlsx is read with openpyxl in read-only mode, so a million rows never sit in
memory at once. Bytes that do not decode are kept as surrogates (surrogateescape) and
validation rejects the row that holds them, instead of failing the whole file.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import IO, Any

from django.utils.translation import gettext as _

CSV = "csv"
XLSX = "xlsx"
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "gb18030")
SAMPLE_BYTES = 1 << 20
# csv refuses fields over 128 KiB by default; validation gives long cells a reason instead.
csv.field_size_limit(16 << 20)

_BINARY_SIGNATURES = {
    b"%PDF": "PDF",
    b"\x89PNG": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF8": "GIF",
    b"\xd0\xcf\x11\xe0": "Excel 97-2003 (.xls)",
    b"\x1f\x8b": "gzip",
    b"Rar!": "RAR",
    b"7z\xbc\xaf": "7-Zip",
}


class ImportFileError(Exception):
    """The file cannot be read at all (wrong type, corrupt workbook, no header row)."""


@dataclass(frozen=True)
class FileFormat:
    kind: str  # CSV or XLSX
    encoding: str = ""  # CSV only
    delimiter: str = ","  # CSV only


def sniff(handle: IO[bytes], *, name: str, encoding: str = "") -> FileFormat:
    """Decide the format from the first bytes; raise ImportFileError when unusable."""
    handle.seek(0)
    head = handle.read(SAMPLE_BYTES)
    handle.seek(0)
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if not head:
        raise ImportFileError(_("The file is empty."))
    if head.startswith(b"PK\x03\x04"):
        if not _is_workbook(handle):
            raise ImportFileError(_("This zip file is not an Excel workbook (.xlsx)."))
        return FileFormat(XLSX)
    if extension in ("xlsx", "xlsm"):
        raise ImportFileError(_("This file is named .xlsx but is not an Excel workbook."))
    for signature, label in _BINARY_SIGNATURES.items():
        if head.startswith(signature):
            if label.startswith("Excel 97"):
                raise ImportFileError(
                    _("Old Excel files (.xls) are not supported: save the sheet as .xlsx or CSV.")
                )
            raise ImportFileError(_("This is a %(type)s file, not CSV or Excel.") % {"type": label})
    encoding = encoding or detect_encoding(head)
    if encoding != "utf-16" and head.count(b"\x00") > len(head) // 10:
        raise ImportFileError(_("This is not a text file."))
    text = head.decode(encoding, errors="surrogateescape")
    return FileFormat(CSV, encoding=encoding, delimiter=_delimiter(text))


def _is_workbook(handle: IO[bytes]) -> bool:
    try:
        with zipfile.ZipFile(handle) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False
    finally:
        handle.seek(0)


def detect_encoding(head: bytes) -> str:
    """UTF-8 unless the bytes say otherwise.

    A BOM decides. Else a sample that is UTF-8 apart from a few bad bytes stays UTF-8 (the
    bad rows are rejected one by one); a sample that is valid GB18030 and not UTF-8 is
    GB18030 (what Excel in Chinese Windows saves as "CSV").
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    text = head.decode("utf-8", errors="surrogateescape")
    bad = sum(1 for c in text if "\udc80" <= c <= "\udcff")
    if bad == 0:
        return "utf-8"
    good = sum(1 for c in text if ord(c) > 0x7F) - bad
    # The sample may end inside a character: that is one bad byte, not a wrong encoding.
    if good >= 4 * bad or bad <= 3 and good > 0:
        return "utf-8"
    try:
        head.decode("gb18030")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # not just a character cut by the sample's end
            return "utf-8"
    return "gb18030"


def _delimiter(text: str) -> str:
    first_line = text.split("\n", 1)[0]
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


@contextmanager
def open_rows(handle: IO[bytes], fmt: FileFormat) -> Iterator[tuple[list[str], Iterator[list[str]]]]:
    """(header, rows) for the file; rows are lists of strings (never None)."""
    handle.seek(0)
    if fmt.kind == XLSX:
        with _xlsx_rows(handle) as rows:
            yield _header(rows), rows
        return
    text = io.TextIOWrapper(
        _Unclosable(handle), encoding=fmt.encoding, errors="surrogateescape", newline=""
    )
    rows = iter(csv.reader(text, delimiter=fmt.delimiter))
    yield _header(rows), rows


def _header(rows: Iterator[list[str]]) -> list[str]:
    for row in rows:
        if any(cell.strip() for cell in row):
            return [cell.strip().lstrip("\ufeff") for cell in row]
    raise ImportFileError(_("The file has no header row."))


@contextmanager
def _xlsx_rows(handle: IO[bytes]) -> Iterator[Iterator[list[str]]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a broken file
        raise ImportFileError(
            _("The Excel file could not be read (%(error)s).") % {"error": type(error).__name__}
        ) from error
    try:
        sheet = workbook.worksheets[0]
        yield _guarded((_cell_text(v) for v in row) for row in sheet.iter_rows(values_only=True))
    finally:
        workbook.close()


def _guarded(rows: Iterator[Iterator[str]]) -> Iterator[list[str]]:
    """A corrupt part found halfway through the sheet fails the file with a clear message."""
    try:
        for row in rows:
            yield list(row)
    except (zipfile.BadZipFile, KeyError, ValueError, EOFError, OSError) as error:
        raise ImportFileError(
            _("The Excel file is damaged (%(error)s).") % {"error": type(error).__name__}
        ) from error


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != time(0) else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def estimate_rows(handle: IO[bytes], fmt: FileFormat) -> int | None:
    """Data rows, roughly (for the progress bar): newlines in a CSV, the sheet's
    declared dimension in an .xlsx."""
    handle.seek(0)
    if fmt.kind == XLSX:
        import openpyxl

        try:
            workbook = openpyxl.load_workbook(handle, read_only=True)
            rows = workbook.worksheets[0].max_row
            workbook.close()
        except Exception:  # the real read reports a broken file with a reason
            return None
        finally:
            handle.seek(0)
        return max(rows - 1, 0) if rows else None
    lines = 0
    last = b"\n"
    while chunk := handle.read(1 << 20):
        lines += chunk.count(b"\n")
        last = chunk[-1:]
    handle.seek(0)
    return max(lines - (1 if last == b"\n" else 0), 0)


class _Unclosable(io.RawIOBase):
    """Lets TextIOWrapper read the storage's file without closing it when collected."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._handle.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:  # the caller owns the handle
        pass
