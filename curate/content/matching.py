"""Whole-word matching of a language's terms, with allow-listed words and phrases that never count.

Texts and terms are compared NFC-normalised and case-folded. In scripts written with spaces a term must stand as a
whole word (`ass` never matches inside `class`); in Chinese, Japanese, Thai, Lao, Khmer, Myanmar and Tibetan, where
words are not separated, terms match inside the text, and one-character terms are not used (in Chinese `乳` alone
would match milk, `牛乳`). A match inside an allowed phrase (`breast cancer`, `anal fissure`) does not count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from curate.content.lexicons import normalized_term

NO_SPACE_LANGUAGES = {"zh", "ja", "th", "lo", "km", "my", "bo", "yue", "wuu", "lzh"}


@dataclass(frozen=True)
class Hit:
    term: str
    category: str


def _alternation(terms) -> str:
    return "|".join(re.escape(t) for t in sorted(terms, key=lambda t: (-len(t), t)))


class Matcher:
    """The terms of one language (term -> category) and its allowed words and phrases."""

    def __init__(self, terms: dict[str, str], allow: set[str], spaced: bool):
        self.spaced = spaced
        self.terms = {t: c for t, c in terms.items() if t not in allow and (spaced or len(t) > 1)}
        self.search = self._compile(self.terms)
        self.allowed = self._compile(allow)

    def _compile(self, terms) -> re.Pattern | None:
        if not terms:
            return None
        body = _alternation(terms)
        return re.compile(rf"(?<!\w)(?:{body})(?!\w)" if self.spaced else f"(?:{body})")

    def find(self, text: str) -> list[Hit]:
        if self.search is None:
            return []
        folded = normalized_term(text)
        allowed = [m.span() for m in self.allowed.finditer(folded)] if self.allowed else []
        hits = []
        for match in self.search.finditer(folded):
            start, end = match.span()
            if not any(a <= start and end <= b for a, b in allowed):
                hits.append(Hit(match.group(0), self.terms[match.group(0)]))
        return hits
