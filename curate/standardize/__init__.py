"""Standardising dates, numbers and units in running text, from CLDR locale data (Babel) and pint's unit registry.

Each module finds candidates in one text and returns `Change`s: what was written, what it becomes (None when it is
left as written, with the reason in `skip`), and where. The `standardize` step finds the rows that may hold a
candidate with polars over the batch and only calls these on them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Change:
    """One candidate in a text: `after` is None when it is left as written, `skip` says why (`ambiguous`, ...)."""

    kind: str  # date, number, unit
    start: int
    end: int
    before: str
    after: str | None
    skip: str | None = None


def apply_changes(text: str, changes: list[Change]) -> tuple[str, list[tuple[Change, int, int]]]:
    """The text with every change that has an `after` written in (changes must not overlap), and each such change
    with its offsets in the new text."""
    out, placed, cursor, shift = [], [], 0, 0
    for change in sorted((c for c in changes if c.after is not None), key=lambda c: c.start):
        out.append(text[cursor : change.start])
        out.append(change.after)
        start = change.start + shift
        placed.append((change, start, start + len(change.after)))
        shift += len(change.after) - (change.end - change.start)
        cursor = change.end
    out.append(text[cursor:])
    return "".join(out), placed
