"""Email and phone normalization: one spelling per contact detail, None for anything else."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from customers.normalize import normalize_email, normalize_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("li.wei@example.com", "li.wei@example.com"),
        ("  Li.Wei@Example.COM \n", "li.wei@example.com"),
        ("ANNA+news@mail.example.co.uk", "anna+news@mail.example.co.uk"),
        ("Wang.Fang@例子.中国", "wang.fang@例子.中国"),  # internationalized domain
    ],
)
def test_valid_emails_are_trimmed_and_lowercased(raw, expected):
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "not-an-email",
        "two@@example.com",
        "no-domain@",
        "@example.com",
        "space in@example.com",
        "nul\x00byte@example.com",
        "a@b",
        "x" * 100_000 + "@example.com",
        "a@" + "b" * 100_000 + ".com",
        None,
        12345,
    ],
)
def test_invalid_emails_are_none(raw):
    assert normalize_email(raw) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "+8613812345678"),  # a Chinese mobile, no country code
        ("138 1234 5678", "+8613812345678"),
        ("+86 138-1234-5678", "+8613812345678"),
        ("008613812345678", "+8613812345678"),
        ("19912345678", "+8619912345678"),
        ("010 6552 9988", "+861065529988"),  # a Beijing landline
        ("+1 212 555 0123", "+12125550123"),
        ("+1 (415) 867-5309", "+14158675309"),
        ("+44 7912 345678", "+447912345678"),
    ],
)
def test_valid_phones_become_e164(raw, expected):
    assert normalize_phone(raw) == expected


def test_default_region_reads_national_numbers():
    # given a number written the American way, without a country code
    raw = "(415) 867-5309"
    # then it depends on the market the brand reads it in
    assert normalize_phone(raw, default_region="US") == "+14158675309"
    assert normalize_phone(raw, default_region="CN") != "+14158675309"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "12345",
        "1381234567",  # one digit short
        "138123456789",  # one digit long
        "+1 555",
        "phone: call me",
        "abc",
        "1381234\x005678",
        "\x00",
        "1" * 100_000,
        "+86" + "8" * 100_000,
        None,
        13812345678,
    ],
)
def test_invalid_phones_are_none(raw):
    assert normalize_phone(raw) is None


@given(st.text())
def test_arbitrary_text_never_raises(raw):
    email = normalize_email(raw)
    phone = normalize_phone(raw)
    assert email is None or email == email.strip().lower()
    assert phone is None or phone.startswith("+")


@given(st.text())
def test_normalizing_twice_changes_nothing(raw):
    email = normalize_email(raw)
    phone = normalize_phone(raw)
    assert email is None or normalize_email(email) == email
    assert phone is None or normalize_phone(phone) == phone
