import pytest

pytest.importorskip("langcodes")
pytest.importorskip("language_data")

from curate.core.languages import UND, family, macro_of, members_of, normalize_label, resolve_language


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        # lid.176: ISO 639-1 and Wikipedia codes
        ("__label__fr", ("fra", None)),
        ("__label__en", ("eng", None)),
        ("__label__zh", ("zho", None)),
        ("__label__no", ("nor", None)),
        ("__label__sw", ("swa", None)),
        ("__label__sh", ("hbs", None)),  # Serbo-Croatian, not Serbian
        ("__label__tl", ("tgl", None)),  # Tagalog, not Filipino
        ("__label__als", ("gsw", None)),  # the Alemannic Wikipedia, not Tosk Albanian
        ("__label__arz", ("arz", None)),
        ("__label__yue", ("yue", None)),
        # GlotLID / OpenLID: ISO 639-3 with the script
        ("__label__fra_Latn", ("fra", "Latn")),
        ("__label__srp_Cyrl", ("srp", "Cyrl")),
        ("__label__als_Latn", ("als", "Latn")),  # here it is Tosk Albanian
        ("__label__cmn_Hani", ("cmn", "Hani")),
        ("__label__zxx_Zxxx", (UND, "Zxxx")),
        ("__label__und_Latn", (UND, "Latn")),
        # private or unknown codes are kept
        ("__label__toki", ("toki", None)),
        ("swh", ("swh", None)),
    ],
)
def test_normalize_label(label, expected):
    assert normalize_label(label) == expected


def test_macrolanguages():
    assert [macro_of(c) for c in ["nob", "nno", "swh", "bos", "hrv", "srp", "cmn", "yue", "arz", "zsm", "fra"]] == [
        "nor",
        "nor",
        "swa",
        "hbs",
        "hbs",
        "hbs",
        "zho",
        "zho",
        "ara",
        "msa",
        "fra",
    ]
    assert {"nob", "nno"} <= members_of("nor")
    assert members_of("fra") == frozenset()


def test_family_matches_macro_and_members_not_siblings():
    assert {"nor", "nob", "nno"} <= family(["nor"])
    assert family(["nob"]) == {"nob", "nor"}
    assert "nno" not in family(["nob"])
    assert family(["fra"]) == {"fra"}


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("en", "eng"),
        ("eng", "eng"),
        ("English", "eng"),
        ("fr", "fra"),
        ("fra", "fra"),
        ("French", "fra"),
        ("fr-CA", "fra"),
        ("fra_Latn", "fra"),
        ("nb", "nob"),
        ("Norwegian", "nor"),
        ("Norwegian Bokmål", "nob"),
        ("sw", "swa"),
        ("swh", "swh"),
        ("Swahili", "swa"),
        ("tl", "tgl"),
        ("Tagalog", "tgl"),
        ("zh", "zho"),
        ("Chinese", "zho"),
        ("cmn", "cmn"),
        ("sh", "hbs"),
        (" de ", "deu"),
    ],
)
def test_resolve_language(name, code):
    assert resolve_language(name) == code


@pytest.mark.parametrize("name", ["xx", "Nonsense", "", "xx-YY"])
def test_resolve_language_rejects_unknown(name):
    with pytest.raises(ValueError):
        resolve_language(name)


def test_language_names_and_other_keys():
    from curate.core.languages import hub_code, iso639_3, language_key, language_name, likely_script

    assert [language_name(c) for c in ("yor", "swa", "nob", "zz9")] == ["Yoruba", "Swahili", "Norwegian Bokmål", "zz9"]
    assert [iso639_3(c) for c in ("en", "iw", "zh", "not a code")] == ["eng", "heb", "zho", None]
    assert [hub_code(c) for c in ("yor", "kmr", "eng")] == ["yo", "kmr", "en"]  # ISO 639-1 where there is one
    # stopwords-iso keys: CLDR folds a macrolanguage's main member into it, not the others
    assert [language_key(c) for c in ("fra", "swh", "cmn", "yue", "und", None)] == ["fr", "sw", "zh", "yue", None, None]
    assert [likely_script(c) for c in ("yid", "srp", "sr-Latn")] == ["Hebr", "Cyrl", "Latn"]


def test_same_language_matches_as_expect_does():
    from curate.core.languages import same_language

    assert same_language("yi", "yid") and same_language("eng", "en") and same_language("cmn", "zho")
    assert same_language("ydd", "yid") and same_language("nob", "nor") and same_language("zsm", "msa")
    assert not same_language("nob", "nno") and not same_language("hrv", "srp") and not same_language("fra", "spa")
