"""Exporting the customer list to CSV: the same filters as the page, streamed, UTF-8 with
a BOM for Excel, formula-injection safe, audited."""

import csv
import io

from customers.export import safe_cell
from customers.models import CustomerTag
from scrm.staff.models import AuditEntry
from tests.customers.factories import CustomerFactory, IdentityFactory, TagFactory


def exported(response) -> list[list[str]]:  # noqa: ANN001
    content = b"".join(response.streaming_content)
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_export_streams_the_filtered_list_with_identities_and_tags(staff_client):
    # given tagged and untagged customers
    client, user = staff_client("Marketer")
    vip = IdentityFactory(value="wang@example.com").customer
    vip.display_name, vip.city = "王小明", "上海"
    vip.save()
    IdentityFactory(customer=vip, kind="phone", value="+8613812345678")
    CustomerTag.objects.create(customer=vip, tag=TagFactory(name="vip"))
    CustomerFactory(display_name="Not Tagged")
    # when the marketer exports the list filtered by tag
    response = client.get("/customers/export.csv", {"tag": "vip"})
    # then it streams a CSV of that filtered list only
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = exported(response)
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Name"] == "王小明" and row["Email"] == "wang@example.com" and row["Phone"] == "'+8613812345678"  # kept as text
    assert row["Tags"] == "vip" and row["City"] == "上海"
    # and the export is audited with its filters
    entry = AuditEntry.objects.get(action="customers.exported")
    assert entry.actor == user and entry.changes["filters"][1]["tag"] == "vip"


def test_export_cells_cannot_run_as_formulas(staff_client):
    client, _user = staff_client("Admin")
    CustomerFactory(display_name="=HYPERLINK(\"http://evil\")", city="+1 city")
    CustomerFactory(display_name="@SUM(A1)", city="-2")
    rows = exported(client.get("/customers/export.csv"))
    names = {r[1] for r in rows[1:]}
    assert names == {"'=HYPERLINK(\"http://evil\")", "'@SUM(A1)"}
    assert {r[7] for r in rows[1:]} == {"'+1 city", "'-2"}


def test_safe_cell_leaves_plain_values_alone():
    assert safe_cell("王小明") == "王小明"
    assert safe_cell(None) == ""
    assert safe_cell(12) == "12"
    assert safe_cell("\tcmd") == "'\tcmd"


def test_export_reads_in_chunks_without_n_plus_one(staff_client, django_assert_max_num_queries):
    client, _user = staff_client("Admin")
    for i in range(30):
        IdentityFactory(value=f"p{i}@example.com")
    response = client.get("/customers/export.csv")
    with django_assert_max_num_queries(6):
        rows = exported(response)
    assert len(rows) == 31


def test_the_customer_list_offers_the_export_with_its_filters(staff_client):
    client, _user = staff_client("Marketer")
    CustomerFactory(display_name="Someone", city="Beijing")
    body = client.get("/customers/", {"city": "Beijing"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'href="/customers/export.csv?city=Beijing"' in body
    agent, _user = staff_client("Agent")
    assert 'data-testid="export-csv"' not in agent.get("/customers/").content.decode()
