"""PII detection for the `pii` step: one module per family of detectors, a scanner that runs them on a batch.

The built-in kinds, in the order that settles overlaps (a span inside a longer one always gives way first):
email, url, ip, iban, credit_card, crypto, the national identifiers (`national_id`), phone. Names and addresses come
from an optional NER backend (`curate.pii.ner`).
"""

from __future__ import annotations

from curate.pii import ids, patterns, phones
from curate.pii.scan import Detector, Hints, Scanner, Span

BUILTIN: list[Detector] = [*patterns.DETECTORS, *ids.DETECTORS, phones.DETECTOR]
BY_KIND: dict[str, Detector] = {d.kind: d for d in BUILTIN}
GROUPS: dict[str, list[str]] = {"national_id": [d.kind for d in BUILTIN if d.group == "national_id"]}

__all__ = ["BUILTIN", "BY_KIND", "GROUPS", "Detector", "Hints", "Scanner", "Span"]
