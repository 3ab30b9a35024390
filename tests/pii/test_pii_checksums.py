"""Check digits, on the published test numbers of each scheme."""

import pytest

from curate.pii.checksums import (
    base58check_ok,
    card_ok,
    compact,
    crypto_ok,
    ethereum_ok,
    iban_ok,
    luhn_ok,
    segwit_ok,
)


def test_compact_strips_written_separators():
    assert compact("de89 3704-0044.0532/0130 00") == "DE89370400440532013000"


@pytest.mark.parametrize(
    "number",
    [
        "4111111111111111",
        "4012888888881881",
        "5555555555554444",
        "371449635398431",
        "30569309025904",
        "6011000400000000",
        "3528000700000000",
        "5019717010103742",
        "6759649826438453",
        "122000000000003",
        "2221000000000009",
        "4222222222222",
        "213100000000019",
        "180000000000010",
    ],  # JCB's 15-digit numbers
)
def test_test_card_numbers_pass(number):
    assert card_ok(number)


def test_luhn_on_the_worked_example():
    # 7992739871 and a check digit: double every second digit from its last one (1, 8, 3, 2, 9 -> 2, 16 -> 1+6 = 7,
    # 6, 4, 18 -> 1+8 = 9), add the others (7, 9, 7, 9, 7): 2+7+6+4+9 + 7+9+7+9+7 = 67, so the check digit is 3
    assert luhn_ok("79927398713")
    assert not any(luhn_ok(f"7992739871{d}") for d in "012456789")
    assert not luhn_ok("7992739871a") and not luhn_ok("")


@pytest.mark.parametrize(
    "number, why",
    [
        ("4012888888881882", "Luhn"),
        ("1748503543012", "UATP is 15 digits"),
        ("4111111111111", "Luhn"),
        ("7111111111111114", "no scheme starts with 7"),
        ("51051051051051", "Mastercard is 16 digits"),
        ("0000000000000000", "no issuer 0"),
        ("2131000000000016", "JCB 2131 is 15 digits"),
    ],
)
def test_non_card_numbers_fail(number, why):
    # the numbers refused for their issuer range or length pass the Luhn check: the range is what refuses them
    assert luhn_ok(number) == (why != "Luhn")
    assert not card_ok(number), why


def test_iban_country_length_and_mod97():
    assert iban_ok("DE89370400440532013000")
    assert iban_ok("GB82 WEST 1234 5698 7654 32")
    assert iban_ok("BE68539007547034")  # a bank code outside stdnum's directory still counts
    assert iban_ok("SC18SSCB11010000000000001497USD")
    assert not iban_ok("DE89370400440532013001")  # check digits
    assert not iban_ok("BE6853900754703")  # Belgian IBANs have 16 characters
    assert not iban_ok("XX89370400440532013000")  # no such country
    assert not iban_ok("AD12000A2030200359100100")  # a letter where Andorra has digits


def test_base58check_addresses():
    assert base58check_ok("16Yeky6GMjeNkAiNcBY7ZhrLoMSgg1BoyZ")  # P2PKH
    assert base58check_ok("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy")  # P2SH
    assert not base58check_ok("16Yeky6GMjeNkAiNcBY7ZhrLoMSgg1BoyY")  # checksum
    assert not base58check_ok("16Yeky6GMjeNkAiNcBY7ZhrLoMSgg1BoyZ2")  # length
    assert not base58check_ok("0OIl6GMjeNkAiNcBY7ZhrLoMSgg1BoyZ")  # not Base58


def test_segwit_bech32_and_bech32m():
    assert segwit_ok("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq")  # v0, Bech32 (BIP-173)
    assert segwit_ok("BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ")  # one case throughout is allowed
    assert segwit_ok("bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297")  # v1, Bech32m (BIP-350)
    assert not segwit_ok("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdw")  # checksum
    assert not segwit_ok("bc1Qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq")  # mixed case


def test_crypto_dispatch():
    assert crypto_ok("0x52908400098527886E0F7030069857D2E4169EE7")
    assert ethereum_ok("0x52908400098527886e0f7030069857d2e4169ee7")
    assert not crypto_ok("0x52908400098527886E0F7030069857D2E4169EE")  # 39 hex digits
    assert not crypto_ok("8f953371d3e85eddb89b05ed6b9e680791055315c73e1025ab5dba7bb2aee189")
