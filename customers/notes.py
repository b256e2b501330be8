"""Staff notes on a customer profile."""

from __future__ import annotations

from django.contrib.auth.models import User

from customers.models import Customer, Note


def add_note(*, customer: Customer, body: str, author: User | None) -> Note:
    note = Note(customer=customer, body=body, author=author)
    note.full_clean()
    note.save()
    return note
