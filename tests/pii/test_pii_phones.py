"""Phone numbers: libphonenumber validity, with region hints from a country or a language."""

from curate.pii import BY_KIND, Hints
from curate.pii.phones import regions_of_country, regions_of_language


def phones(text, **hints):
    return [(text[s.start : s.end], s.key) for s in BY_KIND["phone"].find(text, Hints(**hints))]


def test_country_values():
    assert regions_of_country("FR") == regions_of_country("fr") == ("FR",)
    assert regions_of_country("fr_CA") == ("CA",)
    assert regions_of_country("pt-BR") == ("BR",)
    assert regions_of_country("UK") == ("GB",)
    assert regions_of_country("xx") == regions_of_country(None) == regions_of_country("") == ()


def test_language_values():
    assert regions_of_language("fra") == regions_of_language("fr") == ("FR", "CA", "BE")
    assert regions_of_language("fr-CA") == ("CA", "FR", "BE")  # the tag's own region first
    assert regions_of_language("eng_Latn") == ("US", "GB", "IN")  # GlotLID-style labels
    assert regions_of_language("deu") == ("DE", "AT", "CH")
    assert regions_of_language("zzz") == ()


def test_international_numbers_need_no_hint():
    text = "Appelez le 06 12 34 56 78 ou le +33 1 42 68 53 00"
    assert phones(text) == [("+33 1 42 68 53 00", "+33142685300")]
    assert phones(text, fallback=("US",)) == [("+33 1 42 68 53 00", "+33142685300")]


def test_national_numbers_with_a_hint():
    text = "Appelez le 06 12 34 56 78 ou le +33 1 42 68 53 00"
    assert phones(text, regions=("FR",)) == [("06 12 34 56 78", "+33612345678"), ("+33 1 42 68 53 00", "+33142685300")]
    # several regions: each explains the numbers the ones before it could not
    assert phones("Call (415) 555-0132 or 020 7946 0958", regions=("US", "GB")) == [
        ("(415) 555-0132", "+14155550132"), ("020 7946 0958", "+442079460958")]  # fmt: skip


def test_years_and_counts_are_not_numbers():
    assert phones("In 1995-2001 there were 12345 people, 3.5 million in 2020.", fallback=("US",)) == []


def test_examples_from_several_regions():
    # libphonenumber's own example numbers (E164, international and national format with the region)
    cases = [("+376712345", None), ("+376 712 345", None), ("712 345", "AD"), ("090-1234-5678", "JP"),
             ("+91 81234 56789", None), ("081234 56789", "IN"), ("0412 345 678", "AU"),
             ("+55 11 96123-4567", None)]  # fmt: skip
    for number, region in cases:
        hints = Hints(regions=(region,)) if region else Hints()
        assert [t for t, _ in phones(f"tel. {number} !", **hints.__dict__)] == [number], number


def test_language_table_names_only_regions_libphonenumber_knows():
    import phonenumbers

    from curate.pii.phones import LANGUAGE_REGIONS

    assert {r for regions in LANGUAGE_REGIONS.values() for r in regions} <= set(phonenumbers.SUPPORTED_REGIONS)
