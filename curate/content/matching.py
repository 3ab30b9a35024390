"""Whole-word matching of a language's terms, with allow-listed words and phrases that never count.

Texts and terms are compared NFC-normalised and case-folded. In scripts written with spaces a term must stand as a
whole word (`ass` never matches inside `class`); in Chinese, Japanese, Thai, Lao, Khmer, Myanmar and Tibetan, where
words are not separated, terms match inside the text, so short terms are not used: one Han or kana character (in
Chinese `乳` alone would match milk, `牛乳`), and Thai, Lao, Khmer, Myanmar or Tibetan terms of fewer than three
letters not counting combining marks (Thai `กู` would match inside `กูเกิล`, Google). A match inside an allowed
phrase (`breast cancer`, `anal fissure`) does not count. Words are matched as listed: no stemming, so an inflected
form or an attached clitic (Arabic `ال`) matches only when the list has it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from curate.content.lexicons import normalized_term

HAN_LANGUAGES = {"zh", "ja", "yue", "wuu", "lzh"}
NO_SPACE_LANGUAGES = HAN_LANGUAGES | {"th", "lo", "km", "my", "bo"}


def long_enough(term: str, language: str) -> bool:
    """Whether a term can be matched inside unsegmented text of this language without matching ordinary words."""
    if language in HAN_LANGUAGES:
        return len(term) >= 2
    if language in NO_SPACE_LANGUAGES:
        return sum(not unicodedata.category(ch).startswith("M") for ch in term) >= 3
    return True


@dataclass(frozen=True)
class Hit:
    term: str
    category: str


def _alternation(terms) -> str:
    return "|".join(re.escape(t) for t in sorted(terms, key=lambda t: (-len(t), t)))


class Matcher:
    """The terms of one language (term -> category) and its allowed words and phrases."""

    def __init__(self, terms: dict[str, str], allow: set[str], language: str):
        self.spaced = language not in NO_SPACE_LANGUAGES
        self.terms = {t: c for t, c in terms.items() if t not in allow and long_enough(t, language)}
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
