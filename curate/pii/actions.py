"""What happens to a span once found: `tag` it, `mask` it with its kind, `pseudonymize` it, or `drop` the row.

Masks and pseudonyms are written left to right with a running shift, which is the same as replacing from the end
backwards, and gives the offset of every span in the new text for free: `{field}_pii` always points into the text
as this step wrote it (unchanged text for `tag`, the replacement token for `mask`/`pseudonymize`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from typing import Literal

from curate.pii.scan import Span

Action = Literal["tag", "mask", "pseudonymize", "drop"]
PSEUDONYM_HEX = 12  # 48 bits: collisions stay unlikely below millions of distinct values per kind


def mask_token(kind: str) -> str:
    return f"<{kind.upper()}>"


def pseudonym(span: Span, secret: bytes) -> str:
    """A keyed hash of the kind and the canonical value: the same value gives the same token in every row and every
    run with the same key, and without the key the token says nothing about the value."""
    digest = hmac.new(secret, f"{span.kind}\x1f{span.key}".encode(), hashlib.sha256).hexdigest()
    return f"<{span.kind.upper()}_{digest[:PSEUDONYM_HEX]}>"


def rewrite(text: str, spans: Sequence[Span], replacement: Callable[[Span], str | None]) -> tuple[str, list[Span]]:
    """Replace each span whose `replacement` is not None; return the new text and the spans' offsets in it."""
    pieces, moved, last, shift = [], [], 0, 0
    for span in spans:
        new = replacement(span)
        if new is None:
            moved.append(span._replace(start=span.start + shift, end=span.end + shift))
            continue
        pieces.append(text[last : span.start])
        pieces.append(new)
        start = span.start + shift
        moved.append(span._replace(start=start, end=start + len(new)))
        shift += len(new) - (span.end - span.start)
        last = span.end
    if not pieces:
        return text, moved
    pieces.append(text[last:])
    return "".join(pieces), moved


def replacer(actions: dict[str, str], secret: bytes | None, mask_all: bool = False) -> Callable[[Span], str | None]:
    """The replacement for a span under the per-kind `actions` (`mask_all`: mask whatever the action, for the text
    kept with a rejected row)."""

    def replace(span: Span) -> str | None:
        action = "mask" if mask_all else actions.get(span.kind, "tag")
        if action == "mask":
            return mask_token(span.kind)
        if action == "pseudonymize":
            assert secret is not None
            return pseudonym(span, secret)
        return None

    return replace
