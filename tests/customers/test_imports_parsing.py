"""Reading files by content (CSV in common encodings, .xlsx), guessing the column mapping
from English and Chinese headers, and cleaning one cell at a time."""

import codecs
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from customers.imports.mapping import guess_mapping, missing_required
from customers.imports.parsing import CSV, XLSX, ImportFileError, estimate_rows, open_rows, sniff
from customers.imports.validation import (
    CellError,
    Options,
    RowCleaner,
    parse_amount,
    parse_date,
    parse_datetime,
)
from customers.models import AttributeDefinition
from tests.customers.import_files import csv_bytes, xlsx_bytes

ROWS = [["姓名", "手机", "邮箱"], ["王小明", "13812345678", "wang@example.com"], ["李雷", "13912345678", "li@example.com"]]


def read(content: bytes, name: str = "f.csv") -> tuple[list[str], list[list[str]]]:
    handle = io.BytesIO(content)
    fmt = sniff(handle, name=name)
    with open_rows(handle, fmt) as (header, rows):
        return header, list(rows)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_csv_in_every_common_encoding_reads_the_same(encoding):
    # given the same Chinese rows saved in each encoding
    content = csv_bytes(ROWS, encoding=encoding)
    # when it is read
    header, rows = read(content)
    # then the text comes out right
    assert header == ROWS[0]
    assert rows == ROWS[1:]


def test_semicolon_and_tab_separated_files_are_detected():
    for delimiter in (";", "\t"):
        content = "\n".join(delimiter.join(r) for r in ROWS).encode()
        assert read(content)[1][0] == ROWS[1]


def test_xlsx_is_read_by_content_even_with_a_csv_name():
    born = datetime(1990, 5, 3)  # noqa: DTZ001 - Excel cells have no zone
    content = xlsx_bytes([["Name", "Birthday", "Amount"], ["Ann", born, 12.0]])
    handle = io.BytesIO(content)
    assert sniff(handle, name="misnamed.csv").kind == XLSX
    header, rows = read(content, "misnamed.csv")
    assert header == ["Name", "Birthday", "Amount"]
    assert rows == [["Ann", "1990-05-03", "12"]]


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "a.csv", "empty"),
        (b"%PDF-1.4 binary", "a.csv", "PDF"),
        (b"\x89PNG\r\n\x1a\n....", "a.csv", "PNG"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "a.xls", ".xls"),
        (b"name,email\nann,a@example.com\n", "a.xlsx", "not an Excel workbook"),
        (b"PK\x03\x04 this is not really a zip", "a.xlsx", "not an Excel workbook"),
        (b"\x00\x01\x02\x03" * 100, "a.csv", "not a text file"),
    ],
)
def test_files_that_are_not_csv_or_excel_are_refused_with_a_reason(content, name, message):
    with pytest.raises(ImportFileError, match=message):
        sniff(io.BytesIO(content), name=name)


def test_a_corrupt_workbook_fails_with_a_clear_error():
    # given a workbook whose zip is cut in the middle
    content = xlsx_bytes([["Email"]] + [[f"p{i}@example.com"] for i in range(2000)])
    broken = content[: len(content) // 2] + content[-200:]
    # when it is read, then ImportFileError says so (not a zipfile traceback)
    with pytest.raises(ImportFileError):
        read(broken, "broken.xlsx")


def test_a_utf8_file_with_a_few_latin1_bytes_stays_utf8():
    content = csv_bytes(ROWS) + "José,13712345678,jose@example.com\n".encode("latin-1")
    assert sniff(io.BytesIO(content), name="f.csv").encoding == "utf-8"
    _header, rows = read(content)
    assert rows[:2] == ROWS[1:]
    assert "\udce9" in rows[2][0]  # kept as a surrogate; validation rejects the row


def test_estimated_rows_count_data_lines():
    content = csv_bytes(ROWS)
    assert estimate_rows(io.BytesIO(content), sniff(io.BytesIO(content), name="f.csv")) == 2
    assert sniff(io.BytesIO(content), name="f.csv").kind == CSV


def test_mapping_is_guessed_from_english_and_chinese_headers(brand):
    headers = ["姓名", "手机号码", "E-mail", "城市", "生日", "会员号", "Tags", "Notes"]
    assert guess_mapping(headers, "customers") == {
        "0": "display_name", "1": "phone", "2": "email", "3": "city", "4": "birthday",
        "5": "member_id", "6": "tags",
    }
    orders = guess_mapping(["订单号", "金额", "下单时间", "会员号", "币种"], "orders")
    assert orders == {"0": "external_id", "1": "amount", "2": "ordered_at", "3": "member_id", "4": "currency"}


def test_custom_attributes_are_mapped_by_key_or_label(brand):
    AttributeDefinition.objects.create(key="shoe_size", label="鞋码", type="number")
    assert guess_mapping(["邮箱", "鞋码"], "customers") == {"0": "email", "1": "attr:shoe_size"}


def test_a_mapping_without_required_columns_is_refused():
    assert missing_required({"0": "display_name"}, "customers")
    assert missing_required({"0": "member_id"}, "customers") == []
    problems = missing_required({"0": "member_id", "1": "amount"}, "orders")
    assert len(problems) == 2  # order number and date


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1990-05-03", date(1990, 5, 3)), ("1990/5/3", date(1990, 5, 3)), ("19900503", date(1990, 5, 3)),
     ("1990年5月3日", date(1990, 5, 3)), ("05/03/1990", date(1990, 5, 3)), ("25/12/1990", date(1990, 12, 25)),
     ("1990-05-03 00:00:00", date(1990, 5, 3))],
)
def test_dates_in_several_formats(raw, expected):
    assert parse_date(raw, Options()) == expected


def test_day_first_option_reads_ambiguous_dates_the_other_way():
    assert parse_date("05/03/1990", Options(day_first=True)) == date(1990, 3, 5)


def test_order_times_are_read_in_the_brand_time_zone():
    assert parse_datetime("2024-05-03 10:00", Options(time_zone="Asia/Shanghai")) == datetime(2024, 5, 3, 2, 0, tzinfo=UTC)
    assert parse_datetime("2024-05-03T10:00:00+00:00", Options()) == datetime(2024, 5, 3, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "amount", "currency"),
    [("1,234.50", "1234.50", None), ("¥99", "99.00", "CNY"), ("12.30元", "12.30", "CNY"),
     ("$5", "5.00", "USD"), ("10 EUR", "10.00", "EUR"), ("0", "0.00", None)],
)
def test_amounts_with_signs_and_codes(raw, amount, currency):
    assert parse_amount(raw, Options()) == (Decimal(amount), currency)


@pytest.mark.parametrize("raw", ["-5", "abc", "12..3", "1e400", "¥-3", "1" * 20])
def test_negative_or_garbage_amounts_are_rejected(raw):
    with pytest.raises(CellError):
        parse_amount(raw, Options())


def test_cleaning_gives_a_reason_per_bad_cell(brand):
    cleaner = RowCleaner(kind="customers", options=Options())
    row = cleaner.clean({"display_name": "x" * 100_000, "email": "not-an-email", "phone": "12", "birthday": "soon",
                         "member_id": "M\x001"})
    reasons = dict(row.errors)
    assert set(reasons) == {"display_name", "email", "phone", "birthday", "member_id"}
    assert "too long" in reasons["display_name"]
    assert "NUL" in reasons["member_id"]
    good = cleaner.clean({"display_name": "<script>alert(1)</script>", "phone": "138 1234 5678", "gender": "女"})
    assert good.errors == []
    assert good.values == {"display_name": "<script>alert(1)</script>", "phone": "+8613812345678", "gender": "female"}


def test_utf16_bom_detection():
    assert sniff(io.BytesIO(codecs.BOM_UTF16_LE + "a,b\n".encode("utf-16-le")), name="x.txt").encoding == "utf-16"


def test_the_exports_formula_guard_is_undone_on_import(brand):
    cleaner = RowCleaner(kind="customers", options=Options())
    assert cleaner.clean({"phone": "'+8613812345678"}).values["phone"] == "+8613812345678"


def test_the_mobile_number_shortcut_agrees_with_phonenumbers(brand):
    from customers.normalize import normalize_phone

    cleaner = RowCleaner(kind="customers", options=Options())
    for number in ("13812345678", "13812349999", "17400012345", "17409912345", "12012345678", "19912345678", "16212345678"):
        expected = normalize_phone(number, "CN")
        try:
            got = cleaner.cell("phone", number)
        except CellError:
            got = None
        assert got == expected, number


# --- the chunk (column-wise) path gives every cell what `cell` gives it ---------------------

CHUNK_SAMPLES = {
    "email": ["a@example.com", " Wang@Example.COM ", "not-an-email", "x@localhost", "a.b+c@sub.example.cn",
              "'=a@example.com", "o'brien@example.com", "a@b", "a@-b.com", "用户@例子.中国", "a@example.com\x00",
              "a" * 250 + "@example.com", "a..b@example.com", "a@xn--fiqs8s.cn", "A@EXAMPLE.COM", ""],
    "phone": ["13812345678", "+8613812345678", "008613812345678", "+86 138 1234 5678", "138-1234-5678",
              "12012345678", "17400012345", "+8612012345678", "+1 650 253 0000", "12", "1381234567８",
              "'+8613812345678", "+86138123456789", "8613812345678", "13812345678\x00", "１３８１２３４５６７８", ""],
    "birthday": ["1990-05-03", "1990-02-30", "1899-12-31", "2999-01-01", "1990/5/3", "05/03/1990", "soon",
                 "1990-05-03 10:00", "0000-01-01", ""],
    "display_name": ["Ann", "x" * 201, "x" * 200, "Nul\x00", "bad \udce9 byte", "'=SUM(A1)", "'plain", "  padded  ", ""],
    "member_id": ["M1", "'-5", "M\x001", ""],
    "ordered_at": ["2024-05-03 10:00", "2024-05-03T10:00:59", "2024-05-03", "2024-02-30 10:00", "1969-12-31 23:00",
                   "2101-01-01", "2024/05/03 10:00", "03/05/2024 10:00", "2024-05-03 25:00", "2024-05-03T10:00:00+08:00",
                   "someday", ""],
    "amount": ["12", "12.5", "0012.50", "999999999999.99", "9999999999999", "1.005", "-3", "¥99", "1,000.50", ".5",
               "12.", "abc", ""],
}


@pytest.mark.parametrize(("region", "zone"), [("CN", "Asia/Shanghai"), ("US", "America/New_York")])
def test_the_chunk_path_agrees_with_cleaning_cell_by_cell(brand, region, zone):
    options = Options(phone_region=region, time_zone=zone)
    for key, samples in CHUNK_SAMPLES.items():
        # given a column of every shape, each cell cleaned on its own by `cell`
        expected = []
        for raw in samples:
            if not raw.strip():
                expected.append(None)
                continue
            try:
                expected.append(("ok", RowCleaner(kind="customers", options=options).cell(key, raw)))
            except CellError as error:
                expected.append(("error", str(error)))
        # when the same cells are cleaned as one chunk (with a member ID so rows are identified)
        cleaner = RowCleaner(kind="customers", options=options)
        columns = {key: samples} if key == "member_id" else {key: samples, "member_id": ["M"] * len(samples)}
        chunk = cleaner.clean_chunk(columns, len(samples))
        # then each cell has the same value or the same reason
        got = []
        for i in range(len(samples)):
            reasons = [reason for k, reason in chunk.errors.get(i, []) if k == key]
            if reasons:
                got.append(("error", reasons[0]))
            elif not samples[i].strip():
                got.append(None)
            else:
                got.append(("ok", chunk.values[key][i]))
        assert got == expected, key


def test_a_plain_email_pattern_match_is_always_a_valid_email():
    from customers.imports.validation import _PLAIN_EMAIL
    from customers.normalize import normalize_email

    for email in ("a@example.com", "a-b_c+d.e@mail-1.example.co.uk", "0@0.io", "x@" + "a" * 63 + ".com"):
        assert _PLAIN_EMAIL.fullmatch(email)
        assert normalize_email(email) == email
