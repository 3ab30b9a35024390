"""National identifiers: the official forms pass, a wrong check digit or a reserved range does not."""

import pytest

from curate.pii import BY_KIND, GROUPS, Hints


def found(kind, text):
    return [text[s.start : s.end] for s in BY_KIND[kind].find(text, Hints())]


@pytest.mark.parametrize(
    "kind, valid, invalid",
    [
        (
            "us_ssn",
            ["078-05-1123", "078 05 1123", "078.05.1123"],
            ["078-05-1120", "666-12-3456", "078-00-1123", "078-05 1123"],
        ),
        ("es_dni", ["55555555K", "12345678-Z", "12345678z"], ["12345678A", "1111111G"]),
        ("es_nie", ["X9613851N", "Y8063915-Z", "z8078221m"], ["Y8063915Q", "W8063915Q"]),
        ("fr_nir", ["2 95 10 99 126 111 93", "295109912611193"], ["295109912611194"]),
        ("it_fiscal_code", ["RSSMRA85T10A562S", "AAAAAA00B11C333Y"], ["RSSMRA85T10A562T", "A55AAA00B11C333N"]),
        (
            "uk_nino",
            ["AA 12 34 56 B", "tw987654a", "PR 123612C"],
            ["AA 12 34 56 H", "FQ 00 00 00 C", "BG123612A", "NT 99 88 77 A"],
        ),
        ("de_tax_id", ["86095742719", "86 095 742 719"], ["86095742718", "12345678903"]),
        ("in_aadhaar", ["2341 2341 2346", "234123412346"], ["234123412347", "1341 2341 2346"]),
        ("br_cpf", ["390.533.447-05", "39053344705"], ["390.533.447-06", "111.111.111-11"]),
        ("pl_pesel", ["44051401458", "02070803628"], ["44051401459"]),
        ("fi_hetu", ["131052-308T", "010594Y9032", "020516C903K"], ["131052-308U", "311390-1111"]),
        ("se_personnummer", ["880320-0016", "19880320-0016", "198803200016"], ["880320-0017"]),
        ("tr_tckimlik", ["10000000146", "76543210794"], ["10000000145", "02531814694"]),
        ("kr_rrn", ["850315-1234566", "8503151234566"], ["850315-1234567", "971013-9019902"]),
        ("za_id", ["8001015009087"], ["8001015009086"]),
        ("ca_sin", ["130 692 544", "347-677-452"], ["130 692 545", "046-454 286"]),
        ("cn_ric", ["360426199101010071"], ["360426199101010072"]),
    ],
)
def test_national_ids(kind, valid, invalid):
    for number in valid:
        assert found(kind, f"n° {number}.") == [number], number
    for number in invalid:
        assert found(kind, f"n° {number}.") == [], number


def test_nine_bare_digits_need_a_context_word():
    assert found("us_ssn", "078051123") == []
    assert found("us_ssn", "her SSN: 078051123") == ["078051123"]
    assert found("ca_sin", "130692544") == []
    assert found("ca_sin", "mon NAS est 130692544") == ["130692544"]


def test_ids_do_not_start_inside_longer_tokens():
    assert found("tr_tckimlik", "+10000000146") == []  # a + starts a phone number
    assert found("tr_tckimlik", "X10000000146 10000000146X 1.10000000146") == []


def test_national_id_group_has_at_least_eight_countries():
    countries = {BY_KIND[k].country for k in GROUPS["national_id"]}
    assert {"US", "ES", "FR", "IT", "GB", "DE", "IN", "BR"} <= countries


def test_weak_checks_are_those_random_numbers_often_pass():
    """`weak` is measured, not guessed: the share of random digit strings of the identifier's length that pass its
    check is at least 1 in 20 for the weak ones (Luhn on 9 digits, Verhoeff, the SSN's range rules) and far below
    for the others (two check digits, or a check digit and a birth date)."""
    import random

    from curate.pii.ids import SPECS

    lengths = {
        "us_ssn": 9,
        "ca_sin": 9,
        "in_aadhaar": 12,
        "de_tax_id": 11,
        "pl_pesel": 11,
        "tr_tckimlik": 11,
        "br_cpf": 11,
        "kr_rrn": 13,
        "za_id": 13,
        "se_personnummer": 10,
        "fr_nir": 15,
        "cn_ric": 18,
    }
    rng = random.Random(14)
    for spec in SPECS:
        if spec.kind in lengths:
            numbers = ["".join(rng.choice("0123456789") for _ in range(lengths[spec.kind])) for _ in range(4000)]
            rate = sum(spec.check(n) for n in numbers) / len(numbers)
            assert spec.weak == (rate >= 1 / 20), (spec.kind, rate)
    assert {s.kind for s in SPECS if s.weak} == {"us_ssn", "ca_sin", "in_aadhaar"}
