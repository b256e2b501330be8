"""Duplicate keys within an import file, found before a chunk is staged: the first row
with a value wins, later rows name it, across chunks too."""

import numpy as np

from customers.imports import duplicates
from customers.imports.duplicates import FirstRows, find_duplicates


def test_a_repeated_value_names_the_first_row_in_the_chunk_and_in_later_chunks():
    # given a first chunk with a repeated email
    seen = FirstRows()
    first = find_duplicates(seen, ["email"], [2, 3, 4], {"email": ["a@x.cn", "b@x.cn", "a@x.cn"]})
    # when a later chunk repeats both emails
    later = find_duplicates(seen, ["email"], [5, 6, 7], {"email": ["b@x.cn", None, "a@x.cn"]})
    # then every repeat names the first row with the value
    assert first == {2: ("email", 2)}
    assert later == {0: ("email", 3), 2: ("email", 2)}


def test_a_row_rejected_for_one_key_does_not_count_for_the_next():
    # given row 3 repeats row 2's email, and row 4 has row 3's phone
    seen = FirstRows()
    columns = {"email": ["a@x.cn", "a@x.cn", "c@x.cn"], "phone": ["+8613800000001", "+8613800000002", "+8613800000002"]}
    # when the chunk is checked
    found = find_duplicates(seen, ["email", "phone"], [2, 3, 4], columns)
    # then row 4 is the first with its phone (row 3 did not go in), and row 3 is not remembered
    assert found == {1: ("email", 2)}
    assert find_duplicates(seen, ["phone"], [5], {"phone": ["+8613800000002"]}) == {0: ("phone", 4)}


def test_the_last_chunk_remembers_nothing():
    seen = FirstRows()
    find_duplicates(seen, ["email"], [2], {"email": ["a@x.cn"]}, remember=False)
    assert find_duplicates(seen, ["email"], [3], {"email": ["a@x.cn"]}) == {}


def test_many_chunks_are_merged_and_still_found(monkeypatch):
    # given more chunks than runs kept apart
    monkeypatch.setattr(duplicates, "MAX_RUNS", 2)
    seen = FirstRows()
    for chunk in range(6):
        find_duplicates(seen, ["member_id"], [chunk * 10 + i for i in range(10)],
                        {"member_id": [f"M{chunk}-{i}" for i in range(10)]})
    # when a chunk repeats values of the first and the last of them
    found = find_duplicates(seen, ["member_id"], [100, 101, 102], {"member_id": ["M0-3", "M9-9", "M5-9"]})
    # then both are found with their rows
    assert found == {0: ("member_id", 3), 2: ("member_id", 59)}


def test_values_sharing_a_first_digest_are_told_apart(monkeypatch):
    # given a first digest that every value shares (a 64-bit collision, forced)
    real = duplicates._digests

    def colliding(values):
        _first, second = real(values)
        return np.zeros(len(values), dtype=np.int64), second

    monkeypatch.setattr(duplicates, "_digests", colliding)
    seen = FirstRows()
    find_duplicates(seen, ["email"], [2, 3, 4], {"email": ["a@x.cn", "b@x.cn", "c@x.cn"]})
    # when a later chunk has one of them and a new one
    found = find_duplicates(seen, ["email"], [5, 6], {"email": ["c@x.cn", "d@x.cn"]})
    # then the second digest decides
    assert found == {0: ("email", 4)}
