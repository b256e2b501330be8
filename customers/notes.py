"""Staff notes on a customer profile."""

from __future__ import annotations

from django.contrib.auth.models import User

from customers.models import Customer, Note
from customers.text import clean_text


def add_note(*, customer: Customer, body: str, author: User | None) -> Note:
    note = Note(customer=customer, body=clean_text(body), author=author)
    note.full_clean()
    note.save()
    return note
