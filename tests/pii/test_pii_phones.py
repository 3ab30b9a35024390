"""Phone numbers in three modes: strict (+numbers, national ones valid in the row's regions), text (also the
regions the text points at), lenient (also phone-shaped numbers near a context word or written in a region's own
national format)."""

import pytest

from curate.pii import Hints
from curate.pii.phones import find_phone, is_phone_column, national_format_regions, phone_shaped


def phones(text, mode="lenient", **hints):
    return [(text[s.start : s.end], s.key) for s in find_phone(text, Hints(**hints), mode)]


def test_international_numbers_need_no_hint():
    text = "Appelez le 06 12 34 56 78 ou le +33 1 42 68 53 00"
    assert phones(text, "strict") == [("+33 1 42 68 53 00", "+33142685300")]
    assert phones(text, "strict", fallback=("US",)) == [("+33 1 42 68 53 00", "+33142685300")]


def test_national_numbers_with_the_row_regions_then_the_recipe_regions():
    text = "Appelez le 06 12 34 56 78 ou le +33 1 42 68 53 00"
    assert phones(text, "strict", regions=("FR",)) == [
        ("06 12 34 56 78", "+33612345678"),
        ("+33 1 42 68 53 00", "+33142685300"),
    ]
    # several regions: each explains the numbers the ones before it could not
    both = [("(415) 555-0132", "+14155550132"), ("020 7946 0958", "+442079460958")]
    assert phones("Call (415) 555-0132 or 020 7946 0958", "strict", regions=("US",), fallback=("GB",)) == both


def test_text_mode_uses_what_the_text_says():
    # the country code of a + number elsewhere in the text
    assert phones("Tél. +33 1 42 68 53 00, portable 06 12 34 56 78", "text") == [
        ("+33 1 42 68 53 00", "+33142685300"),
        ("06 12 34 56 78", "+33612345678"),
    ]
    assert phones("Tél. +33 1 42 68 53 00, portable 06 12 34 56 78", "strict") == [
        ("+33 1 42 68 53 00", "+33142685300")
    ]
    # regions the step found in the text (country names, domains, script): `clues`
    assert phones("Mi móvil 612 34 56 78", "text", clues=("ES",)) == [("612 34 56 78", "+34612345678")]
    assert phones("Mi móvil 612 34 56 78", "strict", clues=("ES",)) == []


def test_lenient_mode_takes_phone_shaped_numbers_near_a_context_word():
    # national numbers in no region's exact format, with nothing else to go by (the examples)
    for number in ("07700 063 966", "0490 75 40 81", "(37) 788-063", "699 956 915", "467 3395"):
        assert phones(f"Call me at {number} tomorrow") == [(number, "".join(c for c in number if c.isdigit()))]
        assert phones(f"Call me at {number} tomorrow", "text") == []
    assert phones("See page 07700 063 966 tomorrow") == []  # no context word, no region writes it so
    assert phones("Telefon: 030 1234567", language="de") == [("030 1234567", "0301234567")]
    assert phones("Telepono: 09171234567") == [("09171234567", "09171234567")]  # one run of digits, with context


def test_lenient_mode_takes_numbers_written_in_a_region_national_format():
    assert phones("_: (415)555-0132") == [("(415)555-0132", "4155550132")]
    assert phones("0216 123 45 67 ve 0 (917) 123 4567") == [
        ("0216 123 45 67", "02161234567"),
        ("0 (917) 123 4567", "09171234567"),
    ]
    assert phones("09171234567 or 1 234 567 or 2019 2020") == []  # bare digits, a count, two years: no evidence


def test_lenient_mode_takes_numbers_written_internationally_when_their_length_fits():
    # +: any number as long as its country code's numbers can be, assigned or not (+1 946 and +55 65 1223 are not)
    assert phones("Text Ana on +55 65 1223-3079 tomorrow") == [("+55 65 1223-3079", "+556512233079")]
    assert phones("Text Ana on +55 65 1223-3079 tomorrow", "text") == []
    assert phones("Score +1 234 567 points") == []  # seven digits: too short for +1
    # the trunk prefix in brackets, a one-digit group after the country code
    assert phones("Bureau +33 (0)5 90 29 02 22") == [("+33 (0)5 90 29 02 22", "+33590290222")]
    # 00, the international prefix, with digit groups; not a zero-padded code in one run
    assert phones("Adam, 00420 605 372 159, Praha") == [("00420 605 372 159", "+420605372159")]
    assert phones("Invoice 0012345678 paid") == []


def test_extensions_belong_to_the_number():
    assert phones("Call (507)852-9170x342 today") == [("(507)852-9170x342", "5078529170x342")]
    assert phones("My phone number is +1-946-534-7861x2213") == [("+1-946-534-7861x2213", "+19465347861x2213")]
    assert phones("Manço (+90(395)486-2057 ext. 98)") == [("+90(395)486-2057 ext. 98", "+903954862057x98")]


@pytest.mark.parametrize(
    "value, shaped",
    [
        ("0490 75 40 81", True),
        ("+44 20 7946 0958", True),
        ("467 3395", True),
        ("123456", False),
        ("12.05.2023", False),
        ("2023-05-12", False),
        ("1995-2001", False),
        ("1600-1800", False),
        ("1800-1600", True),
        ("1 2 3 4 5 6 7", False),
        ("1234567890123456", False),
        ("+33 6 12 34 56 78", True),
        ("+44 (0)20 7946 0958", True),
    ],
)
def test_phone_shapes(value, shaped):
    assert phone_shaped(value, 0, len(value)) is shaped


def test_amounts_and_versions_are_not_phone_shaped():
    for text in ("Tel price: $ 1 234 567", "call 1 234 567 €", "phone 12 345 678 %", "phone version 10.0.19041.1"):
        number = text.split(" ", 2)[-1].strip("$€% ").removeprefix("version ")
        start = text.index(number)
        assert not phone_shaped(text, start, start + len(number)), text
        assert phones(text) == [], text


def test_national_format_regions_compare_digit_groups():
    assert {"US", "MX"} <= set(national_format_regions("(415) 555-0132"))
    assert "FR" in national_format_regions("06 12 34 56 78")
    assert national_format_regions("0612345678") == ()  # one group: no format to compare
    assert "FR" not in national_format_regions("06 1234 5678")  # French numbers are grouped in pairs
    assert national_format_regions("1 234 567") == ()  # a count's grouping
    assert "AL" in national_format_regions("022 345 678")  # a count never starts with 0
    # two groups only after the trunk prefix written out (libphonenumber's Austrian and Armenian examples)
    assert national_format_regions("0664 123456") == ("AT",)
    assert "AM" in national_format_regions("077 123456")
    assert national_format_regions("712 345") == ()  # Andorra's format, but also a count in French
    assert national_format_regions("02972-474") == ()  # a Brazilian postal code


def test_years_and_counts_are_not_numbers():
    assert phones("In 1995-2001 there were 12345 people, 3.5 million in 2020.", regions=("US",)) == []


def test_examples_from_several_regions():
    # libphonenumber's own example numbers (E164, international and national format with the region)
    cases = [
        ("+376712345", None),
        ("+376 712 345", None),
        ("712 345", "AD"),
        ("090-1234-5678", "JP"),
        ("+91 81234 56789", None),
        ("081234 56789", "IN"),
        ("0412 345 678", "AU"),
        ("+55 11 96123-4567", None),
    ]
    for number, region in cases:
        hints = {"regions": (region,)} if region else {}
        assert [t for t, _ in phones(f"tel. {number} !", "strict", **hints)] == [number], number


def test_a_phone_column_is_context_for_every_value():
    names = [
        "phone",
        "Tel.",
        "mobile_no",
        "contact-phone",
        "Telefonnummer",
        "TÉLÉPHONE",
        "text",
        "hotel",
        "mobility",
        "customer_id",
        "television",
    ]
    assert [n for n in names if is_phone_column(n)] == [
        "phone",
        "Tel.",
        "mobile_no",
        "contact-phone",
        "Telefonnummer",
        "TÉLÉPHONE",
    ]
    assert phones("09171234567", phone_column=True) == [("09171234567", "09171234567")]
    assert phones("09171234567") == []
