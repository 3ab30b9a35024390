"""Candidate regions of a row, from CLDR data: a country value, a language, and what the text itself says."""

import phonenumbers
import polars as pl

from curate.pii.regions import (
    SCRIPTS,
    language_code,
    region_of_script,
    regions_of_country,
    regions_of_language,
    text_regions,
)


def test_country_values():
    assert regions_of_country("FR") == regions_of_country("fr") == ("FR",)
    assert regions_of_country("fr_CA") == ("CA",)
    assert regions_of_country("pt-BR") == ("BR",)
    assert regions_of_country("UK") == ("GB",)
    assert regions_of_country("xx") == regions_of_country(None) == regions_of_country("") == ()


def test_language_values_from_cldr_territory_info():
    assert regions_of_language("fra") == regions_of_language("fr") == ("FR", "CA", "CH")
    assert regions_of_language("fr-CA") == ("CA", "FR", "CH")  # the tag's own region first
    assert regions_of_language("eng_Latn") == regions_of_language("eng") == ("US", "GB", "IN")  # GlotLID labels
    assert regions_of_language("deu") == ("DE", "AT", "CH")
    assert regions_of_language("arb") == regions_of_language("ara")  # a member reads as its macrolanguage
    assert regions_of_language("yue") == ("MO", "HK")  # no territory where it is official enough: likely subtags
    assert regions_of_language("zzz") == regions_of_language("und") == regions_of_language(None) == ()


def test_every_language_region_is_one_libphonenumber_knows():
    codes = ["eng", "fra", "spa", "por", "ara", "zho", "hin", "rus", "swh", "msa", "hbs", "nob", "tgl", "yue"]
    regions = {r for code in codes for r in regions_of_language(code)}
    assert regions and regions <= set(phonenumbers.SUPPORTED_REGIONS)


def test_language_codes_for_context_words():
    assert [language_code(v) for v in ("fra", "fr-CA", "nob", "nor", "cmn", "tgl", "und", None)] == [
        "fr",
        "fr",
        "nb",
        "nb",
        "zh",
        "fil",
        None,
        None,
    ]


def test_scripts_point_at_their_likely_region():
    assert [region_of_script(s) for s in ("Hang", "Hira", "Thai", "Hebr", "Grek", "Hani")] == [
        "KR",
        "JP",
        "TH",
        "IL",
        "GR",
        "CN",
    ]
    assert all(region_of_script(code) in phonenumbers.SUPPORTED_REGIONS for code in SCRIPTS.values())


def test_text_regions_from_domains_codes_names_and_scripts():
    texts = [
        "Write to jean@exemple.fr, or see https://www.bbc.co.uk/news and www.site.io",  # .io is used as generic
        "Ich wohne in Frankreich, nicht in Österreich.",
        "My US number, my Japanese one",
        "CALL ME AT HOME IN THE US",  # written in capitals: two-letter words are not country codes
        "전화 주세요",
        "我在中国",
        "A woman from Romania",  # no Oman inside Woman/Romania
        "nothing here",
        None,
    ]
    assert text_regions(pl.Series(texts, dtype=pl.String)) == [
        ("FR", "GB"),
        ("FR", "AT"),
        ("US", "JP"),
        (),
        ("KR",),
        ("CN",),
        ("RO",),
        (),
        (),
    ]
