"""National identity and tax numbers, each with its official format and check (python-stdnum).

One table row per identifier: the pattern of its written forms, the check (check digits, embedded birth dates,
reserved ranges), and for the ones with no check digit or a form that is just nine digits, a context word that
must come shortly before (as presidio does), since any nine-digit number would pass otherwise.

Some checks are weak: one random number of the right shape in 10 passes the Luhn check of a Canadian SIN or the
Verhoeff check of an Aadhaar number, most pass the US SSN's range rules. Such a number is read as that identifier
over a phone number only when the row agrees: its country or language (or the recipe's regions) is the
identifier's, or a context word stands near it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from curate.pii.checksums import compact
from curate.pii.scan import Detector, Hints, Span

_LEFT = r"(?<![\w.+-])"
_RIGHT = r"(?![\w]|[.-][0-9])"
_CONTEXT_WINDOW = 48  # characters before a number searched for its context word


@dataclass(frozen=True)
class IdSpec:
    kind: str
    country: str  # ISO 3166-1 alpha-2: a row whose region hints include it prefers this reading of a number
    pattern: str  # Python regex for the written forms (may use backreferences)
    prefilter: str  # Rust regex for polars: a superset of `pattern` without lookaround or backreferences
    check: Callable[[str], bool]  # on the text as written, upper-cased
    description: str
    context: str | None = None  # regex of words naming the identifier, searched just before a number
    bare_needs_context: bool = False  # a bare (separator-free) number counts only after a context word
    flags: int = 0
    weak: bool = False  # a random number of this shape passes the check at least 1 time in 20 (tests measure it)


def _stdnum(module: str, strip: str = " .") -> Callable[[str], bool]:
    """`is_valid` of a python-stdnum module (imported on first use), after removing the `strip` separators that
    module does not remove itself. Separators that carry meaning (the century sign of a Finnish or Swedish number)
    are left to stdnum."""
    holder: list = []
    table = str.maketrans("", "", strip)

    def check(value: str) -> bool:
        if not holder:
            import importlib

            holder.append(importlib.import_module(f"stdnum.{module}").is_valid)
        try:
            return bool(holder[0](value.translate(table)))
        except Exception:  # stdnum's cn.ric raises KeyError on some region codes instead of saying "invalid"
            return False

    return check


_NINO_PREFIX_BANNED = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


def _nino_ok(value: str) -> bool:
    """HMRC format: prefix letters (first not D F I Q U V; second not D F I O Q U V; not BG GB KN NK NT TN ZZ),
    six digits, suffix A-D."""
    value = value.replace(" ", "")
    return (
        len(value) == 9
        and value[0] not in "DFIQUV"
        and value[1] not in "DFIOQUV"
        and value[:2] not in _NINO_PREFIX_BANNED
        and value[2:8].isdigit()
        and value[8] in "ABCD"
    )


_HETU_CENTURY = {
    "+": 1800,
    "-": 1900,
    "U": 1900,
    "V": 1900,
    "W": 1900,
    "X": 1900,
    "Y": 1900,
    "A": 2000,
    "B": 2000,
    "C": 2000,
    "D": 2000,
    "E": 2000,
    "F": 2000,
}
_HETU_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def _hetu_ok(value: str) -> bool:
    """Finnish henkilötunnus DDMMYYCZZZQ with the century signs of the 2023 reform (python-stdnum 2.2 knows only
    + - A): a real birth date, individual number 002-899 (900-999: temporary numbers), check character (DDMMYYZZZ
    mod 31)."""
    import datetime

    if len(value) != 11 or value[6] not in _HETU_CENTURY or not (value[:6] + value[7:10]).isdigit():
        return False
    try:
        datetime.date(_HETU_CENTURY[value[6]] + int(value[4:6]), int(value[2:4]), int(value[:2]))
    except ValueError:
        return False
    return int(value[7:10]) >= 2 and _HETU_CHECK[int(value[:6] + value[7:10]) % 31] == value[10]


_CPF = _stdnum("br.cpf")


def _cpf_ok(value: str) -> bool:
    """CPF check digits; eleven equal digits pass them but are not issued (Receita Federal)."""
    digits = value.replace(".", "").replace("-", "")
    return len(set(digits)) > 1 and _CPF(digits)


SPECS: tuple[IdSpec, ...] = (
    IdSpec(
        "it_fiscal_code",
        "IT",
        r"[A-Z]{6}[0-9LMNP-V]{2}[ABCDEHLMPRST][0-9LMNP-V]{2}[A-Z][0-9LMNP-V]{3}[A-Z]",
        r"(?i)[A-Z]{6}[0-9LMNP-V]{2}[ABCDEHLMPRST][0-9LMNP-V]{2}[A-Z][0-9LMNP-V]{3}[A-Z]",
        _stdnum("it.codicefiscale"),
        "Italy: codice fiscale (16 characters, check letter)",
        flags=re.IGNORECASE,
    ),
    IdSpec(
        "es_nie",
        "ES",
        r"[XYZ]-?[0-9]{7}-?[A-Z]",
        r"(?i)[XYZ]-?[0-9]{7}-?[A-Z]",
        _stdnum("es.nie"),
        "Spain: NIE (foreigner number, check letter)",
        flags=re.IGNORECASE,
    ),
    IdSpec(
        "es_dni",
        "ES",
        r"[0-9]{8}-?[A-Z]",
        r"(?i)[0-9]{8}-?[A-Z]",
        _stdnum("es.dni"),
        "Spain: DNI/NIF (8 digits and a check letter)",
        flags=re.IGNORECASE,
    ),
    IdSpec(
        "uk_nino",
        "GB",
        r"[A-Z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]",
        r"(?i)[A-Z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]",
        _nino_ok,
        "UK: National Insurance number (HMRC prefix rules)",
        flags=re.IGNORECASE,
    ),
    IdSpec(
        "fi_hetu",
        "FI",
        r"[0-3][0-9][01][0-9]{3}[-+A-FU-Y][0-9]{3}[0-9A-Y]",
        r"(?i)[0-3][0-9][01][0-9]{3}[-+A-FU-Y][0-9]{3}[0-9A-Y]",
        _hetu_ok,
        "Finland: henkilötunnus (birth date, century sign, check character)",
        flags=re.IGNORECASE,
    ),
    IdSpec(
        "cn_ric",
        "CN",
        r"[1-9][0-9]{16}[0-9X]",
        r"(?i)[1-9][0-9]{16}[0-9X]",
        _stdnum("cn.ric"),
        "China: resident identity card (birth date, ISO 7064 mod 11-2)",
        flags=re.IGNORECASE,
    ),
    IdSpec(
        "fr_nir",
        "FR",
        r"[12478] ?[0-9]{2} ?[0-9]{2} ?(?:[0-9]{2}|2[AB]) ?[0-9]{3} ?[0-9]{3} ?[0-9]{2}",
        r"(?i)[12478] ?[0-9]{2} ?[0-9]{2} ?(?:[0-9]{2}|2[AB]) ?[0-9]{3} ?[0-9]{3} ?[0-9]{2}",
        _stdnum("fr.nir"),
        "France: NIR / numéro de sécurité sociale (15 digits, key mod 97)",
        flags=re.IGNORECASE,
    ),
    IdSpec(
        "br_cpf",
        "BR",
        r"[0-9]{3}(\.?)[0-9]{3}\1[0-9]{3}-?[0-9]{2}",
        r"[0-9]{3}\.?[0-9]{3}\.?[0-9]{3}-?[0-9]{2}",
        _cpf_ok,
        "Brazil: CPF (11 digits, two check digits)",
    ),
    IdSpec(
        "tr_tckimlik",
        "TR",
        r"[1-9][0-9]{10}",
        r"[1-9][0-9]{10}",
        _stdnum("tr.tckimlik"),
        "Türkiye: T.C. Kimlik No (11 digits, two check digits)",
    ),
    IdSpec(
        "kr_rrn",
        "KR",
        r"[0-9]{6}-?[1-8][0-9]{6}",
        r"[0-9]{6}-?[1-8][0-9]{6}",
        _stdnum("kr.rrn"),
        "South Korea: resident registration number (birth date, check digit)",
    ),
    IdSpec(
        "za_id",
        "ZA",
        r"[0-9]{13}",
        r"[0-9]{13}",
        _stdnum("za.idnr"),
        "South Africa: ID number (birth date, Luhn)",
    ),
    IdSpec(
        "pl_pesel",
        "PL",
        r"[0-9]{11}",
        r"[0-9]{11}",
        _stdnum("pl.pesel"),
        "Poland: PESEL (birth date, check digit)",
    ),
    IdSpec(
        "se_personnummer",
        "SE",
        r"(?:1[89]|20)?[0-9]{6}[-+]?[0-9]{4}",
        r"[0-9]{6}[-+]?[0-9]{4}",
        _stdnum("se.personnummer", strip=" "),
        "Sweden: personnummer (birth date, Luhn)",
    ),
    IdSpec(
        "de_tax_id",
        "DE",
        r"[1-9][0-9](?: ?[0-9]{3}){3}",
        r"[1-9][0-9] ?[0-9]{3} ?[0-9]{3} ?[0-9]{3}",
        _stdnum("de.idnr"),
        "Germany: Steuer-ID / IdNr (11 digits, digit-repeat rule, ISO 7064 mod 11-10)",
    ),
    IdSpec(
        "in_aadhaar",
        "IN",
        r"[2-9][0-9]{3}([ -]?)[0-9]{4}\1[0-9]{4}",
        r"[2-9][0-9]{3}[ -]?[0-9]{4}[ -]?[0-9]{4}",
        _stdnum("in_.aadhaar"),
        "India: Aadhaar (12 digits, Verhoeff)",
        context=r"(?i)\b(?:aadhaa?r|uidai|uid)\b|आधार",
        weak=True,
    ),
    IdSpec(
        "ca_sin",
        "CA",
        r"[0-9]{3}([- ]?)[0-9]{3}\1[0-9]{3}",
        r"[0-9]{3}[- ]?[0-9]{3}[- ]?[0-9]{3}",
        _stdnum("ca.sin"),
        "Canada: social insurance number (Luhn; nine bare digits need a context word)",
        context=r"(?i)\b(?:sin|nas|social insurance|assurance sociale)\b",
        bare_needs_context=True,
        weak=True,
    ),
    IdSpec(
        "us_ssn",
        "US",
        r"[0-9]{3}([- .]?)[0-9]{2}\1[0-9]{4}",
        r"[0-9]{3}[- .]?[0-9]{2}[- .]?[0-9]{4}",
        _stdnum("us.ssn"),
        "US: social security number (reserved ranges; nine bare digits need a context word)",
        context=r"(?i)\b(?:ssn|ssns|ss#|social security|soc\.? sec\.?)",
        bare_needs_context=True,
        weak=True,
    ),
)


def _has_context(context: re.Pattern[str] | None, text: str, start: int) -> bool:
    return context is not None and context.search(text, max(0, start - _CONTEXT_WINDOW), start) is not None


def _finder(spec: IdSpec) -> Callable[[str, Hints], Iterator[Span]]:
    pattern = re.compile(_LEFT + "(?:" + spec.pattern + ")" + _RIGHT, spec.flags)
    context = re.compile(spec.context) if spec.context and spec.bare_needs_context else None

    def find(text: str, hints: Hints) -> Iterator[Span]:
        for m in pattern.finditer(text):
            value = compact(m.group())
            bare = len(value) == m.end() - m.start()
            if context is not None and bare and not _has_context(context, text, m.start()):
                continue
            if spec.check(m.group().upper()):
                yield Span(spec.kind, m.start(), m.end(), value)

    return find


def _confirmer(spec: IdSpec) -> Callable[[str, Span, Hints], bool]:
    context = re.compile(spec.context) if spec.context else None

    def confirmed(text: str, span: Span, hints: Hints) -> bool:
        """The row agrees that this weak-checksum number is this identifier (and not, say, a phone number)."""
        return (
            spec.country in hints.regions or spec.country in hints.fallback or _has_context(context, text, span.start)
        )

    return confirmed


DETECTORS = [
    Detector(
        s.kind,
        s.prefilter,
        _finder(s),
        s.description,
        group="national_id",
        country=s.country,
        confirm=_confirmer(s) if s.weak else None,
    )
    for s in SPECS
]
