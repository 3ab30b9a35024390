"""Finding PII in a batch: a cheap vectorised pass picks the rows that may hold some, Python validates those.

Each detector has a `prefilter`, a Rust regular expression that polars runs over the whole column (no lookaround,
a superset of what the detector accepts), and a `find` function that runs only on the rows the prefilter picked.
`find` works on the Python string, so every offset is a Python character offset, whatever the script before it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import polars as pl


class Span(NamedTuple):
    """One piece of PII: `kind`, character offsets `[start, end)`, and `key`, the value in a canonical form (for
    pseudonyms: the same card written with or without spaces gives the same key)."""

    kind: str
    start: int
    end: int
    key: str


@dataclass(frozen=True)
class Hints:
    """What is known about a row beyond its text, for numbers that only mean something in a region: its likely
    regions (ISO 3166-1 alpha-2, best first) from a country or language column, the regions its text points at
    (`clues`), the recipe's regions (`fallback`, tried after the row's own), its language (ISO 639-1), and what
    its column is for."""

    regions: tuple[str, ...] = ()
    clues: tuple[str, ...] = ()
    fallback: tuple[str, ...] = ()
    language: str | None = None
    phone_column: bool = False  # the column's name says it holds phone numbers ("phone", "tel", "mobile_no")


FindFn = Callable[[str, Hints], Iterable[Span]]


@dataclass(frozen=True)
class Detector:
    """A kind of PII: `prefilter` (Rust regex run by polars) picks rows, `find` (Python) returns validated spans."""

    kind: str
    prefilter: str
    find: FindFn
    description: str = ""
    group: str | None = None  # e.g. "national_id": a name that selects several kinds at once
    country: str | None = None  # the country of a national identifier: preferred in rows hinted at it
    after_others: bool = False  # runs last, and only if its prefilter (Python-compatible then) still matches
    # outside the spans found so far (phone: digits already read as a card, IBAN or ID are not parsed again)
    confirm: Callable[[str, Span, Hints], bool] | None = None  # for weak checks: does the row agree? If not, the
    # span gives way to any other kind that overlaps it (a phone number of the row's own country)


def iter_matches(
    pattern: re.Pattern[str], text: str, accept: Callable[[re.Match[str]], Iterable[Span]]
) -> Iterator[Span]:
    """Spans from `accept` for each match, never overlapping: the search resumes after the last accepted span."""
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        got = list(accept(m))
        if got:
            yield from got
            pos = max(s.end for s in got)
        else:
            pos = m.start() + 1


def group_bounds(text: str, start: int, end: int, separators: str) -> list[tuple[int, int]]:
    """The alphanumeric groups of text[start:end] split at single separator characters, as (start, end) pairs."""
    groups, begin = [], start
    for i in range(start, end):
        if text[i] in separators:
            if i > begin:
                groups.append((begin, i))
            begin = i + 1
    if end > begin:
        groups.append((begin, end))
    return groups


def grouped_spans(
    text: str, groups: Sequence[tuple[int, int]], kind: str, validate: Callable[[str], str | None], max_len: int
) -> Iterator[Span]:
    """Valid runs of whole consecutive groups, longest first from each starting group.

    Numbers are written in groups ("4012 8888 8888 1881"); two numbers side by side are groups too. A valid number
    starts and ends on a group boundary, so only runs of whole groups are tried.
    """
    i = 0
    while i < len(groups):
        hit = None
        last = i
        while last + 1 < len(groups) and groups[last + 1][1] - groups[i][0] <= max_len:
            last += 1  # runs longer than max_len are never tried: linear in the number of groups
        for j in range(last, i - 1, -1):
            key = validate(text[groups[i][0] : groups[j][1]])
            if key is not None:
                hit = (j, key)
                break
        if hit is None:
            i += 1
            continue
        j, key = hit
        yield Span(kind, groups[i][0], groups[j][1], key)
        i = j + 1


def blank(text: str, spans: Iterable[Span]) -> str:
    """The text with the spans replaced by spaces: same length, so offsets into it are offsets into the text."""
    pieces, last = [], 0
    for s in sorted(spans, key=lambda s: s.start):
        if s.start >= last:
            pieces += [text[last : s.start], " " * (s.end - s.start)]
            last = s.end
        elif s.end > last:
            pieces.append(" " * (s.end - last))
            last = s.end
    return "".join(pieces) + text[last:]


def resolve(spans: Iterable[Span], rank: dict[str, float], demoted: Collection[Span] = ()) -> list[Span]:
    """Non-overlapping spans in text order. A span inside a longer one gives way to it (a URL holding an IP is one
    URL); otherwise the kind ranked first wins, and `demoted` spans after every kind."""

    def rank_of(s: Span) -> float:
        return len(rank) + 1.0 if s in demoted else rank.get(s.kind, len(rank))

    spans = sorted(set(spans), key=lambda s: (s.start, -s.end, rank_of(s)))
    outer: list[Span] = []
    for s in spans:
        if any(o.start <= s.start and s.end <= o.end and (o.end - o.start) > (s.end - s.start) for o in outer[-8:]):
            continue
        outer.append(s)
    chosen: list[Span] = []
    for s in sorted(outer, key=lambda s: (rank_of(s), -(s.end - s.start), s.start)):
        if all(s.end <= c.start or c.end <= s.start for c in chosen):
            chosen.append(s)
    return sorted(chosen, key=lambda s: s.start)


def candidate_rows(values: pl.Series, detectors: Sequence[Detector]) -> pl.DataFrame:
    """One boolean column per detector kind: may this row hold that kind? (polars, whole batch at once; detectors
    that share a prefilter share its pass)."""
    names: dict[str, str] = {}
    exprs = []
    for d in detectors:
        if d.prefilter not in names:
            names[d.prefilter] = f"p{len(names)}"
            exprs.append(pl.col("v").str.contains(d.prefilter).fill_null(False).alias(names[d.prefilter]))
    frame = pl.DataFrame({"v": values}).select(exprs)
    return frame.select([frame[names[d.prefilter]].alias(d.kind) for d in detectors])


class Scanner:
    """Runs a fixed list of detectors over text columns; earlier detectors win overlaps (see `resolve`)."""

    def __init__(self, detectors: Sequence[Detector]):
        self.detectors = list(detectors)
        self.rank: dict[str, float] = {d.kind: float(i) for i, d in enumerate(self.detectors)}
        self.country = {d.kind: d.country for d in self.detectors if d.country}
        self.confirm = {d.kind: d.confirm for d in self.detectors if d.confirm is not None}
        self._ranks: dict[tuple[str, ...], dict[str, float]] = {}

    def rank_for(self, regions: tuple[str, ...]) -> dict[str, float]:
        """Ranks for a row hinted at `regions`: a national number of one of those countries goes before the
        other national numbers it could also be read as (an 11-digit number in a Polish row is a PESEL first)."""
        if not regions or not self.country:
            return self.rank
        if regions not in self._ranks:
            top = min(self.rank[k] for k in self.country)
            adjusted = dict(self.rank)
            for kind, country in self.country.items():
                if country in regions:
                    adjusted[kind] = top - 0.5 + self.rank[kind] / 1e4
            self._ranks[regions] = adjusted
        return self._ranks[regions]

    def scan(self, values: pl.Series, hints_of: Callable[[int], Hints] | None = None) -> dict[int, list[Span]]:
        """Row index -> its spans (non-overlapping, in text order), for the rows that have any."""
        if not self.detectors or values.len() == 0:
            return {}
        masks = candidate_rows(values, self.detectors)
        any_kind = masks.select(pl.any_horizontal(pl.all()).alias("any"))["any"]
        rows = any_kind.arg_true().to_list()
        if not rows:
            return {}
        flags = masks.filter(any_kind).rows()
        texts = values.gather(rows).to_list()
        no_hints = Hints()
        out: dict[int, list[Span]] = {}
        for row, text, flag in zip(rows, texts, flags):
            hints = hints_of(row) if hints_of is not None else no_hints
            found: list[Span] = []
            for detector, on in zip(self.detectors, flag):
                if on and not detector.after_others:
                    found.extend(detector.find(text, hints))
            doubtful = [s for s in found if s.kind in self.confirm and not self.confirm[s.kind](text, s, hints)]
            settled = [s for s in found if s not in doubtful] if doubtful else found
            for detector, on in zip(self.detectors, flag):
                if on and detector.after_others:
                    if settled and not re.search(detector.prefilter, blank(text, settled)):
                        continue  # every candidate is inside a span already found
                    found.extend(detector.find(text, hints))
            if found:
                out[row] = resolve(found, self.rank_for(hints.regions), doubtful)
        return out
