"""Check digits that tell a real identifier from a number that only looks like one.

Most checks come from `python-stdnum` (Luhn, Verhoeff, ISO 7064 mod 97-10 for IBANs, national ID rules); what it
lacks is written here from the published specifications: card issuer ranges (ISO/IEC 7812 and the schemes' own
tables), Base58Check and Bech32/Bech32m (BIP-13, BIP-173, BIP-350) for crypto addresses.
"""

from __future__ import annotations

import hashlib
import re

from stdnum import luhn as _luhn

_SEPARATORS = re.compile(r"[\s.\-/]")


def compact(value: str) -> str:
    """The value without the spaces, dots, dashes and slashes people write inside numbers, upper-cased."""
    return _SEPARATORS.sub("", value).upper()


def luhn_ok(digits: str) -> bool:
    """ISO/IEC 7812-1 Luhn check of a string of ASCII digits."""
    return digits.isascii() and digits.isdigit() and _luhn.is_valid(digits)


def iban_ok(value: str) -> bool:
    """ISO 13616 with python-stdnum: a registered country, that country's BBAN format (SWIFT IBAN registry) and the
    mod 97-10 check digits; not stdnum's national checks, which consult bank directories that go stale."""
    from stdnum import iban

    return iban.is_valid(value, check_country=False)


# (first digits from, first digits to, allowed lengths): the issuer identification ranges of the card schemes, as
# collected in Wikipedia's "Payment card number" IIN table from the schemes' own publications (python-stdnum has
# none). Ranges may overlap: a number counts when any range allows its length.
_CARD_RANGES: tuple[tuple[str, str, frozenset[int]], ...] = (
    ("1", "1", frozenset({15})),  # UATP
    ("1800", "1800", frozenset({15})),  # JCB (the 15-digit numbers it issued before 3528-3589)
    ("1946", "1946", frozenset({16, 18, 19})),  # GPN (Indonesia)
    ("2131", "2131", frozenset({15})),  # JCB (15-digit)
    ("2200", "2204", frozenset(range(16, 20))),  # Mir
    ("2205", "2205", frozenset({16})),  # BORICA
    ("2221", "2720", frozenset({16})),  # Mastercard 2-series
    ("30", "30", frozenset(range(14, 20))),  # Diners Club International (300-305, 3095)
    ("31", "31", frozenset({19})),  # China T-Union
    ("34", "34", frozenset({15})),  # American Express
    ("35", "35", frozenset(range(16, 20))),  # JCB (3528-3589), RuPay-JCB (353, 356), LankaPay (357111)
    ("36", "36", frozenset(range(14, 20))),  # Diners Club
    ("37", "37", frozenset({15})),  # American Express
    ("38", "39", frozenset(range(14, 20))),  # Diners Club
    ("4", "4", frozenset({13, 16, 19})),  # Visa, Visa Electron
    ("50", "50", frozenset(range(12, 20))),  # Maestro, Verve, Dankort, RuPay, GPN
    ("51", "55", frozenset({16})),  # Mastercard, Diners Club US & Canada
    ("56", "69", frozenset(range(12, 20))),  # Maestro, Discover, UnionPay, RuPay, Troy, InterPayment, GPN...
    ("81", "82", frozenset(range(16, 20))),  # UnionPay, RuPay
    ("8600", "8600", frozenset({16})),  # UzCard
    ("9792", "9792", frozenset({16})),  # Troy
    ("9860", "9860", frozenset({16})),  # Humo
)


def card_ok(digits: str) -> bool:
    """A payment card number: a length its issuer range allows, and the Luhn check."""
    if not 12 <= len(digits) <= 19:
        return False
    for low, high, lengths in _CARD_RANGES:
        if low <= digits[: len(low)] <= high and len(digits) in lengths:
            return luhn_ok(digits)
    return False


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}


def base58check_ok(address: str) -> bool:
    """A Base58Check address (Bitcoin P2PKH/P2SH, Litecoin, Dogecoin...): 25 bytes whose last 4 are the double
    SHA-256 of the first 21."""
    value = 0
    for char in address:
        index = _B58_INDEX.get(char)
        if index is None:
            return False
        value = value * 58 + index
    zeros = len(address) - len(address.lstrip("1"))
    body = value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""
    raw = b"\0" * zeros + body
    if len(raw) != 25:
        return False
    return hashlib.sha256(hashlib.sha256(raw[:-4]).digest()).digest()[:4] == raw[-4:]


_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_INDEX = {c: i for i, c in enumerate(_BECH32)}
_BECH32_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_BECH32_CONST, _BECH32M_CONST = 1, 0x2BC830A3


def _polymod(values: list[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i, gen in enumerate(_BECH32_GEN):
            if (top >> i) & 1:
                chk ^= gen
    return chk


def segwit_ok(address: str, hrps: tuple[str, ...] = ("bc", "tb", "ltc", "tltc")) -> bool:
    """A SegWit address: Bech32 for witness version 0 (BIP-173), Bech32m for versions 1-16 (BIP-350), with a
    witness program of a valid length."""
    if address.lower() != address and address.upper() != address:
        return False
    address = address.lower()
    hrp, sep, data_part = address.rpartition("1")
    if not sep or hrp not in hrps or not 14 <= len(address) <= 90 or len(data_part) < 7:
        return False
    data = [_BECH32_INDEX.get(c, -1) for c in data_part]
    if -1 in data:
        return False
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    const = _polymod(expanded + data)
    version = data[0]
    if version > 16 or const != (_BECH32_CONST if version == 0 else _BECH32M_CONST):
        return False
    bits = (len(data) - 7) * 5  # data minus the version and the 6 checksum characters
    program = bits // 8
    if bits % 8 >= 5 or not 2 <= program <= 40:
        return False
    return version != 0 or program in (20, 32)


def ethereum_ok(address: str) -> bool:
    """0x and 40 hex digits; mixed-case (EIP-55) checksums are not verified (that needs Keccak-256)."""
    return (
        len(address) == 42 and address[:2] in ("0x", "0X") and all(c in "0123456789abcdefABCDEF" for c in address[2:])
    )


def crypto_ok(address: str) -> bool:
    """A cryptocurrency address in one of the checksummed encodings."""
    if address[:2] in ("0x", "0X"):
        return ethereum_ok(address)
    if "1" in address and address.lower().startswith(("bc1", "tb1", "ltc1", "tltc1")):
        return segwit_ok(address)
    return 26 <= len(address) <= 35 and base58check_ok(address)
