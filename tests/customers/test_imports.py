"""Importing customers and orders: good rows go in set-wise, every bad row is in the error
report with its row number and reason, and a broken file imports nothing."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest

from customers.imports import loading, services
from customers.models import AttributeDefinition, Customer, CustomerTag, Identity, ImportJob, Order
from scrm.staff.models import AuditEntry
from tests.conftest import make_staff
from tests.customers.factories import CustomerFactory, IdentityFactory, OrderFactory
from tests.customers.import_files import (
    csv_bytes,
    media_root,  # noqa: F401 - fixture
    upload,
    xlsx_bytes,
)

HEADER = ["姓名", "邮箱", "手机", "会员号", "生日", "城市", "标签"]


pytestmark = pytest.mark.usefixtures("media_root")


def run(content: bytes, *, kind: str = "customers", name: str = "people.csv", options: dict | None = None,
        mapping: dict | None = None) -> ImportJob:
    """Upload, keep the guessed mapping (or the given one), start, and run the task's service."""
    actor = make_staff("Marketer")
    job = services.create_import_job(upload=upload(content, name), kind=kind, actor=actor)
    services.start_import(job=job, mapping=mapping or job.mapping, options=options or {}, actor=actor)
    return services.run_import(job_id=job.pk)


def report_rows(job: ImportJob) -> list[dict[str, str]]:
    with job.error_report.open("rb") as handle:
        text = handle.read().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def _index_definitions() -> set[tuple[str, str]]:
    from django.db import connection

    with connection.cursor() as cursor:
        # A rebuilt partial index prints its predicate with other (equivalent) casts.
        cursor.execute(
            "SELECT tablename, split_part(indexdef, ' WHERE ', 1), indexdef LIKE '%% WHERE %%'"
            " FROM pg_indexes WHERE schemaname = current_schema()"
            " AND tablename IN ('customers_customer', 'customers_identity', 'customers_customertag')"
        )
        indexes = set(cursor.fetchall())
        cursor.execute(
            "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = ANY(%s::regclass[])",
            [["customers_customer", "customers_identity", "customers_customertag"]],
        )
        return indexes | set(cursor.fetchall())


@pytest.mark.parametrize("bulk", [False, True], ids=["row upkeep", "bulk mode"])
def test_a_mixed_file_imports_the_good_rows_and_reports_every_bad_one(brand, monkeypatch, bulk):
    # given a file with good rows and every kind of bad row (in bulk mode: as if it were big)
    if bulk:
        monkeypatch.setattr(loading, "BULK_ROWS", 1)
    indexes_before = _index_definitions()
    rows = [
        HEADER,
        ["王小明", "Wang@Example.com", "138 1234 5678", "M001", "1990-05-03", "上海", "vip, 新客"],  # 2 good
        ["Bad Email", "not-an-email", "", "", "", "", ""],  # 3
        ["Bad Phone", "", "12345", "", "", "", ""],  # 4
        ["Bad Date", "date@example.com", "", "", "31/31/1990", "", ""],  # 5
        ["Dup Email", "WANG@example.com", "", "", "", "", ""],  # 6 duplicate of row 2
        ["No Identity", "", "", "", "", "北京", ""],  # 7
        ["x" * 100_000, "long@example.com", "", "", "", "", ""],  # 8
        ["Nul\x00Byte", "nul@example.com", "", "", "", "", ""],  # 9
        ["<script>alert(1)</script>", "script@example.com", "+1 650 253 0000", "", "1985/12/01", "", ""],  # 10 good
        ["", "", "", "", "", "", ""],  # blank line: not a row
        ["Li Lei", "", "13912345678", "M002", "", "", "vip"],  # 12 good
    ]
    # when it is imported
    job = run(csv_bytes(rows))
    # then the three good rows are customers with identities and tags
    assert job.status == ImportJob.Status.DONE
    assert job.options["bulk"] is bulk
    assert (job.processed_rows, job.imported_rows, job.error_rows) == (10, 3, 7)
    wang = Customer.objects.get(identities__value="wang@example.com")
    assert wang.display_name == "王小明" and wang.city == "上海" and str(wang.birthday) == "1990-05-03"
    assert set(wang.identities.values_list("kind", "value")) == {
        ("email", "wang@example.com"), ("phone", "+8613812345678"), ("member_id", "M001"),
    }
    assert set(wang.tags.values_list("name", flat=True)) == {"vip", "新客"}
    assert Customer.objects.filter(display_name="<script>alert(1)</script>").exists()
    assert CustomerTag.objects.filter(tag__name="vip").count() == 2
    # and every bad row is in the report with its row number and reason
    reported = {(r["Row"], r["Column"]): r["Reason"] for r in report_rows(job)}
    assert reported.keys() == {("3", "邮箱"), ("4", "手机"), ("5", "生日"), ("6", "邮箱"), ("7", ""), ("8", "姓名"), ("9", "姓名")}
    assert "not a valid email" in reported[("3", "邮箱")]
    assert "row 2" in reported[("6", "邮箱")]
    assert "too long" in reported[("8", "姓名")]
    assert "NUL" in reported[("9", "姓名")]
    # the report keeps the original values (a 100k cell cut short)
    bad_email = next(r for r in report_rows(job) if r["Row"] == "3")
    assert bad_email["姓名"] == "Bad Email" and bad_email["邮箱"] == "not-an-email"
    assert all(len(r["姓名"]) <= services.REPORT_CELL_LIMIT + 1 for r in report_rows(job))
    # and the import was audited from upload to finish
    actions = set(AuditEntry.objects.filter(object_id=str(job.pk)).values_list("action", flat=True))
    assert {"imports.uploaded", "imports.started", "imports.finished"} <= actions
    # and every index and constraint is as it was (rebuilt after a bulk load)
    assert _index_definitions() == indexes_before


def test_a_big_import_into_a_busy_brand_loads_the_slow_way_rather_than_wait(brand, monkeypatch):
    # given a big file, and another session reading the customer table (holding its lock)
    from django.db import connection

    monkeypatch.setattr(loading, "BULK_ROWS", 1)
    monkeypatch.setattr(services, "BULK_LOCK_TIMEOUT_MS", 50)
    with psycopg.connect(**_connection_params(connection), autocommit=False) as reader:
        reader.execute(f"SET search_path = {connection.schema_name}")
        reader.execute("SELECT count(*) FROM customers_customer").fetchone()
        # when it is imported
        job = run(csv_bytes([["Email", "Tags"], ["a@example.com", "vip"], ["b@example.com", ""]]))
    # then it did not drop the indexes under the reader, and still imported every row
    assert job.status == ImportJob.Status.DONE and job.options["bulk"] is False
    assert job.imported_rows == 2
    assert set(CustomerTag.objects.values_list("tag__name", flat=True)) == {"vip"}


def _connection_params(connection) -> dict:  # noqa: ANN001
    settings = connection.settings_dict
    return {"dbname": settings["NAME"], "user": settings["USER"], "password": settings["PASSWORD"],
            "host": settings["HOST"], "port": settings["PORT"] or 5432}


def test_rows_matching_existing_customers_update_them_instead_of_duplicating(brand):
    # given a customer known by email
    known = IdentityFactory(value="known@example.com").customer
    known.display_name, known.city = "Old Name", "Shanghai"
    known.save()
    # when a file names them by that email with a new phone and name, and an empty city
    job = run(csv_bytes([["Name", "Email", "Phone", "City"], ["New Name", "KNOWN@example.com", "13812345678", ""]]))
    # then the same customer is updated and gains the phone
    assert job.imported_rows == 1
    known.refresh_from_db()
    assert known.display_name == "New Name" and known.city == "Shanghai"
    assert known.identities.filter(kind="phone", value="+8613812345678").exists()
    assert Customer.objects.count() == 1


def test_a_bulk_import_in_chunks_adds_identities_to_known_and_new_customers_once(brand, monkeypatch):
    # given a known customer, and a big file (as if) read two rows at a time
    monkeypatch.setattr(loading, "BULK_ROWS", 1)
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    known = IdentityFactory(value="known@example.com").customer
    indexes_before = _index_definitions()
    rows = [
        ["Email", "Phone", "Member ID"],
        ["new1@example.com", "13800000001", "M1"],  # 2 new
        ["KNOWN@example.com", "13800000002", ""],  # 3 known: gains a phone
        ["new2@example.com", "13800000001", ""],  # 4 same phone as row 2
        ["new3@example.com", "", "M3"],  # 5 new
    ]
    # when it is imported in bulk mode
    job = run(csv_bytes(rows))
    # then the known customer kept its email and gained the phone, the new ones have theirs
    assert job.options["bulk"] is True
    assert (job.imported_rows, job.error_rows) == (3, 1)
    assert set(known.identities.values_list("kind", "value")) == {("email", "known@example.com"), ("phone", "+8613800000002")}
    new1 = Customer.objects.get(identities__value="new1@example.com")
    assert set(new1.identities.values_list("kind", "value")) == {
        ("email", "new1@example.com"), ("phone", "+8613800000001"), ("member_id", "M1"),
    }
    assert Identity.objects.count() == 7 and Customer.objects.count() == 3
    # and the unique constraint dropped for the load is back
    assert _index_definitions() == indexes_before


def test_a_row_whose_identities_point_at_two_customers_is_reported_not_merged(brand):
    # given two customers, one with an email and one with a phone
    by_email = IdentityFactory(value="a@example.com").customer
    by_phone = IdentityFactory(kind="phone", value="+8613812345678").customer
    # when a row claims both
    job = run(csv_bytes([["Email", "Phone"], ["a@example.com", "13812345678"]]))
    # then it is an error row naming both customers, and nothing was merged
    assert (job.imported_rows, job.error_rows) == (0, 1)
    reason = report_rows(job)[0]["Reason"]
    assert f"conflicts with customers {min(by_email.pk, by_phone.pk)} and {max(by_email.pk, by_phone.pk)}" == reason
    assert Identity.objects.get(value="a@example.com").customer_id == by_email.pk
    assert Customer.objects.count() == 2


def test_attribute_columns_are_typed_and_stored(brand):
    AttributeDefinition.objects.create(key="shoe_size", label="Shoe size", type="number")
    AttributeDefinition.objects.create(key="tier", label="Tier", type="choice", choices=["gold", "silver"])
    job = run(csv_bytes([["Email", "Shoe size", "Tier"], ["a@example.com", "42", "gold"], ["b@example.com", "big", "bronze"]]))
    assert (job.imported_rows, job.error_rows) == (1, 1)
    assert Customer.objects.get(identities__value="a@example.com").attributes == {"shoe_size": 42, "tier": "gold"}
    assert {r["Column"] for r in report_rows(job)} == {"Shoe size", "Tier"}


def test_an_xlsx_of_customers_imports(brand):
    born = datetime(1990, 5, 3)  # noqa: DTZ001 - Excel cells have no zone
    job = run(xlsx_bytes([["Name", "Mobile", "Birthday"], ["Ann", 13812345678, born]]), name="people.xlsx")
    assert job.imported_rows == 1
    ann = Customer.objects.get(display_name="Ann")
    assert str(ann.birthday) == "1990-05-03"
    assert ann.identities.get().value == "+8613812345678"


def test_a_corrupt_xlsx_fails_the_job_and_imports_nothing(brand):
    # given a workbook damaged after its first rows
    good = xlsx_bytes([["Email"]] + [[f"p{i}@example.com"] for i in range(5000)])
    actor = make_staff("Admin")
    job = services.create_import_job(upload=upload(good, "big.xlsx"), kind="customers", actor=actor)
    services.start_import(job=job, mapping=job.mapping, options={}, actor=actor)
    with job.file.open("rb") as handle:
        content = handle.read()
    with job.file.open("wb") as handle:  # the stored file rots before the worker reads it
        handle.write(content[: len(content) // 2] + content[-300:])
    # when it runs
    job = services.run_import(job_id=job.pk)
    # then the job failed with a message, and not one customer was created
    assert job.status == ImportJob.Status.FAILED
    assert "Excel" in job.error
    assert Customer.objects.count() == 0
    assert AuditEntry.objects.filter(action="imports.failed", object_id=str(job.pk)).exists()


def test_a_file_in_the_wrong_encoding_rejects_only_the_undecodable_rows(brand):
    content = csv_bytes([["Name", "Email"], ["王小明", "w@example.com"], ["李雷", "l@example.com"]])
    content += "José,jose@example.com\n".encode("latin-1")
    job = run(content)
    assert (job.imported_rows, job.error_rows) == (2, 1)
    assert "encoding" in report_rows(job)[0]["Reason"]


def test_gb18030_file_from_chinese_excel(brand):
    job = run(csv_bytes([["姓名", "手机"], ["王小明", "13812345678"]], encoding="gb18030"))
    assert Customer.objects.get().display_name == "王小明"
    assert job.error_rows == 0


def test_duplicates_are_found_across_chunks(brand, monkeypatch):
    monkeypatch.setattr(services, "CHUNK_ROWS", 3)
    rows = [["Email"]] + [[f"p{i}@example.com"] for i in range(7)] + [["p1@example.com"]]
    job = run(csv_bytes(rows))
    assert (job.imported_rows, job.error_rows) == (7, 1)
    assert report_rows(job)[0]["Row"] == "9" and "row 3" in report_rows(job)[0]["Reason"]


def test_duplicates_across_chunks_name_the_first_row_that_went_in(brand, monkeypatch):
    # given chunks of two rows, with duplicates by phone and by email in later chunks
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    rows = [
        ["Email", "Phone"],
        ["a@example.com", "13812345678"],  # 2
        ["b@example.com", ""],  # 3
        ["c@example.com", "138 1234 5678"],  # 4: same phone as row 2
        ["A@example.com", ""],  # 5: same email as row 2
        ["c@example.com", ""],  # 6: row 4 did not go in, so this one does
        ["b@example.com", ""],  # 7: same email as row 3 (in the last chunk)
    ]
    # when it is imported
    job = run(csv_bytes(rows))
    # then each duplicate names the earlier row, and the rest went in
    assert (job.imported_rows, job.error_rows) == (3, 3)
    reported = {r["Row"]: (r["Column"], r["Reason"]) for r in report_rows(job)}
    assert reported == {
        "4": ("Phone", "same Phone as row 2"), "5": ("Email", "same Email as row 2"), "7": ("Email", "same Email as row 3"),
    }
    assert set(Identity.objects.filter(kind="email").values_list("value", flat=True)) == {
        "a@example.com", "b@example.com", "c@example.com",
    }


# --- orders ----------------------------------------------------------------------------------

ORDER_HEADER = ["订单号", "会员号", "邮箱", "下单时间", "金额", "状态"]


def test_orders_link_to_customers_and_refresh_their_aggregates(brand):
    # given a member and an existing order
    member = IdentityFactory(kind="member_id", value="M001").customer
    OrderFactory(external_id="SO-OLD", customer=member, amount=Decimal("10.00"), ordered_at=datetime(2024, 1, 1, tzinfo=UTC))
    rows = [
        ORDER_HEADER,
        ["SO-1", "M001", "", "2024-05-03 10:00", "¥1,000.50", "已支付"],  # 2 good
        ["SO-2", "M001", "", "2024-05-04", "20", "refunded"],  # 3 good, not revenue
        ["SO-1", "M001", "", "2024-05-05", "5", ""],  # 4 duplicate order number in the file
        ["SO-OLD", "M001", "", "2024-05-05", "5", ""],  # 5 already in the database
        ["SO-3", "M404", "", "2024-05-05", "5", ""],  # 6 unknown customer
        ["SO-4", "M001", "", "someday", "-3", ""],  # 7 bad date and negative amount
        ["SO-5", "M001", "", "2024-05-05", "abc", ""],  # 8 garbage amount
    ]
    # when the orders are imported
    job = run(csv_bytes(rows), kind="orders", options={"time_zone": "Asia/Shanghai"})
    # then the good ones are the member's, and the aggregates count paid orders only
    assert (job.imported_rows, job.error_rows) == (2, 5)
    member.refresh_from_db()
    assert member.order_count == 2 and member.revenue == Decimal("1010.50")
    order = Order.objects.get(external_id="SO-1")
    assert order.ordered_at == datetime(2024, 5, 3, 2, 0, tzinfo=UTC) and order.currency == "CNY"
    assert Order.objects.get(external_id="SO-2").status == "refunded"
    reasons = {}
    for row in report_rows(job):
        reasons.setdefault(row["Row"], []).append(row["Reason"])
    assert reasons.keys() == {"4", "5", "6", "7", "8"}
    assert "row 2" in reasons["4"][0]
    assert "already imported" in reasons["5"][0]
    assert "no customer" in reasons["6"][0]
    assert len(reasons["7"]) == 2


def test_orders_can_create_the_customers_they_name(brand):
    rows = [
        ["Order No", "Email", "Member ID", "Date", "Amount", "Name"],
        ["A1", "new@example.com", "", "2024-05-03", "10", "New Person"],
        ["A2", "new@example.com", "N9", "2024-05-04", "15", "New Person"],
        ["A3", "", "N9", "2024-05-05", "5", ""],
    ]
    job = run(csv_bytes(rows), kind="orders", options={"create_customers": True})
    assert job.imported_rows == 3
    # one person: the email and the member id found each other within the file
    customers = Customer.objects.filter(orders__isnull=False).distinct()
    assert customers.count() == 1
    person = customers.get()
    assert person.display_name == "New Person" and person.order_count == 3 and person.revenue == Decimal("30.00")


def test_a_mapping_missing_required_columns_cannot_start(brand):
    actor = make_staff("Marketer")
    job = services.create_import_job(upload=upload(csv_bytes([["Name", "City"], ["Ann", "Beijing"]])), kind="customers", actor=actor)
    with pytest.raises(ValueError, match="Email, Phone or Member ID"):
        services.start_import(job=job, mapping=job.mapping, options={}, actor=actor)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UPLOADED


def test_a_finished_job_is_not_run_twice(brand):
    job = run(csv_bytes([["Email"], ["once@example.com"]]))
    again = services.run_import(job_id=job.pk)
    assert again.status == ImportJob.Status.DONE and again.imported_rows == 1
    assert Customer.objects.count() == 1


def test_existing_customers_are_not_duplicated_by_member_id(brand):
    CustomerFactory()
    IdentityFactory(kind="member_id", value="M7")
    job = run(csv_bytes([["会员号", "姓名"], ["M7", "Seven"]]))
    assert job.imported_rows == 1
    assert Customer.objects.filter(display_name="Seven").count() == 1
    assert Customer.objects.count() == 2
