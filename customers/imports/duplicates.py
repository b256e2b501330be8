"""Duplicates within an import file: the first row with a key (email, phone, member ID,
order number) wins, and a later row with the same value is rejected naming it.

Checked in Python before a chunk is staged: the chunk's values are in memory anyway, and
a dict pass costs milliseconds where the SQL it replaces (a keyed temporary table, a join
and a window per key and chunk) cost seconds per 100k rows. Earlier chunks' rows are gone
by then, so what each leaves behind is a digest of its values: two 64-bit keyed hashes
(Python's SipHash of the value, and of the value with a suffix) and the row number, in
sorted numpy arrays, 24 bytes a value where a dict of the strings holds ~130 (a million
customers' three keys would pin ~400 MB in the worker). Two different values are taken
for the same only if both hashes agree: about one chance in 10^26 for a million rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

# Sorted runs kept side by side before they are merged into one (a lookup searches each).
MAX_RUNS = 8


def _digests(values: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    count = len(values)
    first = np.fromiter(map(hash, values), dtype=np.int64, count=count)
    second = np.fromiter((hash(value + "\x1f") for value in values), dtype=np.int64, count=count)
    return first, second


class _Run:
    """Digests and row numbers sorted by the first digest."""

    def __init__(self, first: np.ndarray, second: np.ndarray, rows: np.ndarray) -> None:
        order = np.argsort(first, kind="stable")
        self.first, self.second, self.rows = first[order], second[order], rows[order]

    def find(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """The row of each (first, second) digest pair, -1 where it is absent."""
        found = np.full(len(first), -1, dtype=np.int64)
        if not len(self.first):
            return found
        at = np.minimum(np.searchsorted(self.first, first), len(self.first) - 1)
        same_first = self.first[at] == first
        hit = same_first & (self.second[at] == second)
        found[hit] = self.rows[at[hit]]
        # Two values sharing a first digest (rare): look along the whole equal range.
        for i in np.flatnonzero(same_first & ~hit):
            stop = int(np.searchsorted(self.first, first[i], side="right"))
            for j in range(int(at[i]), stop):
                if self.second[j] == second[i]:
                    found[i] = self.rows[j]
                    break
        return found


class FirstRows:
    """For each key, the row each value of earlier chunks first appeared in."""

    def __init__(self) -> None:
        self._runs: dict[str, list[_Run]] = {}

    def earlier(self, key: str, values: Sequence[str]) -> list[int | None]:
        runs = self._runs.get(key)
        if not runs or not values:
            return [None] * len(values)
        first, second = _digests(values)
        found = np.full(len(values), -1, dtype=np.int64)
        for run in runs:  # a value is in at most one run
            rows = run.find(first, second)
            np.copyto(found, rows, where=rows >= 0)
        return [None if row < 0 else row for row in found.tolist()]

    def remember(self, key: str, values: Sequence[str], rows: Sequence[int]) -> None:
        if not values:
            return
        first, second = _digests(values)
        runs = self._runs.setdefault(key, [])
        runs.append(_Run(first, second, np.asarray(rows, dtype=np.int64)))
        if len(runs) > MAX_RUNS:
            merged = _Run(
                np.concatenate([r.first for r in runs]), np.concatenate([r.second for r in runs]),
                np.concatenate([r.rows for r in runs]),
            )
            runs[:] = [merged]


def find_duplicates(
    first_rows: FirstRows, keys: Sequence[str], row_nos: Sequence[int], columns: dict[str, list[Any]],
    *, remember: bool = True,
) -> dict[int, tuple[str, int]]:
    """Rows (by index in the chunk) that repeat an earlier row's key: index → (key, the
    earlier row's number). Keys are checked in order, and a row rejected for one key no
    longer counts for the next; a row is the first of its value when no row before it
    (in this chunk or an earlier one) that went through has it. With `remember`, the
    chunk's rows that went through are remembered for the chunks after it."""
    duplicates: dict[int, tuple[str, int]] = {}
    for key in keys:
        column = columns.get(key)
        if column is None:
            continue
        present = [i for i, value in enumerate(column) if value is not None and i not in duplicates]
        values = [column[i] for i in present]
        first_of: dict[Any, int] = {}
        for i, value, earlier in zip(present, values, first_rows.earlier(key, values), strict=True):
            if earlier is not None:
                duplicates[i] = (key, earlier)
                continue
            first = first_of.setdefault(value, row_nos[i])
            if first != row_nos[i]:
                duplicates[i] = (key, first)
    if remember:
        for key in keys:
            column = columns.get(key)
            if column is None:
                continue
            kept = [i for i, value in enumerate(column) if value is not None and i not in duplicates]
            first_rows.remember(key, [column[i] for i in kept], [row_nos[i] for i in kept])
    return duplicates
