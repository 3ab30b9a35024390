"""Detectors written as patterns plus checks: email, URL, IP, payment card, IBAN, crypto address.

Each follows its format's specification (RFC 5322/6531 addresses, RFC 3986 URLs, RFC 4291/5952 IPv6, ISO/IEC 7812
cards, ISO 13616 IBANs, BIP-13/173/350 addresses) and is validated in Python (`ipaddress`, Luhn and issuer
ranges, mod 97-10, Base58Check, Bech32) before it counts.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from curate.pii.checksums import card_ok, compact, crypto_ok, iban_ok
from curate.pii.scan import Detector, Hints, Span, group_bounds, grouped_spans, iter_matches

# -- email ----------------------------------------------------------------------------------------------------------
# Local part: letters of any script (RFC 6531), digits, `_%+-` and inner dots (the rest of RFC 5322's atext, e.g.
# `/?=`, is left out: in running text it mostly belongs to a URL around the address). Domain: LDH labels of any
# script and a TLD of letters or an A-label (xn--).
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_TLD = r"(?:[^\W\d_]{2,63}|[xX][nN]--[a-zA-Z0-9-]{1,59})"
_EMAIL = re.compile(rf"(?<![\w.%+-])[\w%+-]+(?:\.[\w%+-]+)*@(?:{_LABEL}\.)+{_TLD}(?![\w-]|\.[^\W_])")


def find_email(text: str, hints: Hints) -> Iterator[Span]:
    for m in _EMAIL.finditer(text):
        local, _, domain = m.group().rpartition("@")
        if len(local) <= 64 and len(domain) <= 253:
            yield Span("email", m.start(), m.end(), local + "@" + domain.lower())


# -- URL ------------------------------------------------------------------------------------------------------------
# A bare domain (no scheme) counts when it starts with www. or ends in a TLD that is mostly used for web
# addresses; "file.py" or "e.g." are not URLs.
# fmt: off
_WEB_TLDS = frozenset([
    "com", "org", "net", "edu", "gov", "mil", "int", "info", "biz", "io", "ai", "app", "dev", "co", "me", "tv",
    "xyz", "online", "site", "tech", "store", "shop", "blog", "news", "cloud", "page", "web", "club", "live", "pro",
    "name", "mobi", "asia", "eu", "uk", "de", "fr", "es", "it", "nl", "be", "ch", "at", "se", "no", "dk", "fi", "pl",
    "pt", "ru", "ua", "cz", "gr", "ro", "hu", "ie", "ca", "us", "au", "nz", "jp", "cn", "kr", "in", "br", "mx", "ar",
    "cl", "tr", "il", "za", "sg", "hk", "tw",
])
# fmt: on
_SECOND_LEVEL = frozenset(["co", "com", "org", "net", "ac", "gov", "edu", "or", "ne", "go", "gob", "gouv", "nic"])
_PATH = r"(?:[/?#][^\s<>\"'\[\]{}|\\^`]*)?"
_HOST = rf"(?:(?:{_LABEL}\.)+{_TLD}|\[[0-9A-Fa-f:.]+\]|(?:\d{{1,3}}\.){{3}}\d{{1,3}})"
_SCHEME_URL = re.compile(
    rf"(?<![\w.+-])(?:https?|s?ftp|wss?)://(?:[^\s/?#@<>\"']+@)?{_HOST}(?::\d{{1,5}})?{_PATH}", re.IGNORECASE
)
_BARE_URL = re.compile(rf"(?<![\w@.:/-])((?:{_LABEL}\.)+{_TLD})(?::\d{{1,5}})?(?![\w-]|\.[^\W_]){_PATH}")
_TRAILING = ".,;:!?'\")]}"


def _trim_url(text: str, start: int, end: int) -> int:
    """Drop trailing punctuation that belongs to the sentence, keeping a ')' whose '(' is in the URL."""
    while end > start and text[end - 1] in _TRAILING:
        if text[end - 1] == ")" and text.count("(", start, end) >= text.count(")", start, end):
            break
        end -= 1
    return end


def _web_domain(domain: str) -> bool:
    labels = domain.lower().split(".")
    if labels[0] == "www":
        return len(labels) >= 3
    if labels[-1] in _WEB_TLDS:
        return True
    return len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL


def find_url(text: str, hints: Hints) -> Iterator[Span]:
    for m in _SCHEME_URL.finditer(text):
        end = _trim_url(text, m.start(), m.end())
        yield Span("url", m.start(), end, text[m.start() : end])
    for m in _BARE_URL.finditer(text):
        if _web_domain(m.group(1)):
            end = _trim_url(text, m.start(), m.end())
            yield Span("url", m.start(), end, text[m.start() : end].lower())


# -- IP -------------------------------------------------------------------------------------------------------------
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"(?<![\w.])(?:{_OCTET}\.){{3}}{_OCTET}(?![\w]|\.[0-9])")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,8}(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f]{1,4})?"
    r"(?:%[\w.-]+)?(?![\w:]|\.[0-9])"
)


def find_ip(text: str, hints: Hints) -> Iterator[Span]:
    for m in _IPV4.finditer(text):
        yield Span("ip", m.start(), m.end(), m.group())
    for m in _IPV6.finditer(text):
        value = m.group()
        if "%" in value and not value.split("%", 1)[1].strip(".-"):
            continue
        try:
            address = ipaddress.IPv6Address(value)
        except ValueError:
            continue
        yield Span("ip", m.start(), m.end(), str(address))


# -- payment card ---------------------------------------------------------------------------------------------------
# A run of digit groups joined by single spaces or dashes; every run of whole groups of 12-19 digits is tried.
_DIGIT_RUN = re.compile(r"(?<![\w.,+-])[0-9]+(?:[ -][0-9]+)*(?![\w]|[.,][0-9])")


def _card_key(value: str) -> str | None:
    digits = value.replace(" ", "").replace("-", "")
    return digits if card_ok(digits) else None


def find_card(text: str, hints: Hints) -> Iterator[Span]:
    for m in _DIGIT_RUN.finditer(text):
        if m.end() - m.start() < 12:
            continue
        groups = group_bounds(text, m.start(), m.end(), " -")
        yield from grouped_spans(text, groups, "credit_card", _card_key, max_len=23)


# -- IBAN -----------------------------------------------------------------------------------------------------------
# Country code, two check digits, then the BBAN in groups (print format: groups of four, separated by spaces).
# ISO 13616 writes capitals, people also write lower case: the country format and mod 97 tell an IBAN either way.
_IBAN_RUN = re.compile(r"(?<![^\W_])[A-Z]{2}[0-9]{2}(?:[ -]?[A-Z0-9]){11,40}", re.IGNORECASE)


def _iban_key(value: str) -> str | None:
    if not (value[:2].isalpha() and value[2:4].isdigit()):
        return None
    code = compact(value)
    return code if iban_ok(code) else None


def find_iban(text: str, hints: Hints) -> Iterator[Span]:
    def accept(m: re.Match[str]) -> Iterator[Span]:
        end = m.end()
        while end > m.start() and end < len(text) and text[end].isalnum():
            end -= 1  # the run stopped inside a group (length cap): that group is not whole, leave it out
        yield from grouped_spans(text, group_bounds(text, m.start(), end, " -"), "iban", _iban_key, max_len=42)

    yield from iter_matches(_IBAN_RUN, text, accept)


# -- crypto ---------------------------------------------------------------------------------------------------------
_CRYPTO = re.compile(
    r"(?<![\w])(?:[13LMD][1-9A-HJ-NP-Za-km-z]{25,34}|(?:bc|tb|ltc|tltc|BC|TB|LTC|TLTC)1[0-9A-Za-z]{8,87}"
    r"|0[xX][0-9a-fA-F]{40})(?![\w])"
)


def find_crypto(text: str, hints: Hints) -> Iterator[Span]:
    for m in _CRYPTO.finditer(text):
        if crypto_ok(m.group()):
            yield Span("crypto", m.start(), m.end(), m.group())


DETECTORS = [
    Detector("email", r"[^\s@]@[\w-]+\.\w", find_email, "email addresses (RFC 5322 / 6531)"),
    Detector(
        "url",
        r"(?i)(?:https?|s?ftp|wss?)://|www\.|(?-u:[A-Za-z0-9]\.(?i:" + "|".join(sorted(_WEB_TLDS)) + r")\b)",
        find_url,
        "web addresses with a scheme, or bare domains starting with www. or on a common web TLD",
    ),
    Detector(
        "ip",
        r"[0-9]\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]|[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:",
        find_ip,
        "IPv4 and IPv6 addresses (validated with `ipaddress`)",
    ),
    Detector(
        "credit_card",
        r"[0-9]{4}[ -]?[0-9]{4}[ -]?[0-9]{4}",
        find_card,
        "payment card numbers: issuer range, length and Luhn check",
    ),
    Detector(
        "iban", r"(?i)[A-Z]{2}[0-9]{2}[ -]?[A-Z0-9]{4}", find_iban, "IBANs in any case: country format and mod 97-10"
    ),
    Detector(
        "crypto",
        r"\b(?:[13LMD][1-9A-HJ-NP-Za-km-z]{25}|(?i:bc|tb|ltc)1[0-9A-Za-z]{8}|0[xX][0-9a-fA-F]{40})",
        find_crypto,
        "Bitcoin/Litecoin/Dogecoin (Base58Check, Bech32/Bech32m) and Ethereum addresses",
    ),
]
