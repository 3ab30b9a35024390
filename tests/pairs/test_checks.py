import polars as pl
import pytest

from curate.pairs import checks


def one(expr, *texts):
    return pl.DataFrame({"a": list(texts)}, schema={"a": pl.String}).select(expr(pl.col("a"))).to_series().to_list()


def two(expr, pairs):
    frame = pl.DataFrame(pairs, schema=["s", "t"], orient="row")
    return frame.select(expr(pl.col("s"), pl.col("t"))).to_series().to_list()


def test_numbers_of_any_script_and_locale():
    assert one(checks.numbers, "It costs 1,000.50 dollars on 12/03", "١٢٣ و ٤٥٦", None) == [
        ["100050", "12", "3"],
        ["123", "456"],
        [],
    ]
    assert one(checks.numbers, "1.000,50 €") == [["100050"]]  # the same number in German writing


def test_numbers_differ_beyond_spelled_out_digits():
    assert two(
        checks.numbers_differ,
        [
            ("I have 3 cats.", "J'ai trois chats."),  # one digit, spelled out: fine
            ("He was born in 1985.", "Er wurde 1985 geboren."),
            ("He was born in 1985.", "Er wurde 1958 geboren."),  # changed
            ("Call me at 10:30.", "Ruf mich um 10.30 Uhr an."),
            ("He has $3000.", "Il a trois mille dollars."),  # a number of several digits written out: flagged
            ("No numbers here.", "Aucun nombre 7 ici."),  # a one-digit number on one side only
        ],
    ) == [False, False, True, False, True, False]


def test_addresses_must_survive():
    assert two(
        checks.addresses_differ,
        [
            ("See https://example.org/a.", "Voir https://example.org/a."),
            ("Write to ana@example.org", "Écrivez à ana@example.com"),
        ],
    ) == [False, True]


def test_kind_of_sentence_in_several_scripts():
    assert one(
        checks.kind_of_sentence,
        "Is it?",
        "¿Es así?",
        "هل هذا صحيح؟",
        "Τι κάνεις;",
        "Done.",
        "它很好。",
        "Stop!",
        "no mark",
    ) == ["question", "question", "question", "question", "statement", "statement", None, None]


def test_sentence_count_and_ends():
    assert one(checks.sentence_count, "One. Two! Three?", "Mr Smith came.", "它很好。我也是。") == [3, 1, 2]
    assert one(checks.ends_sentence, "Done.", "Not done", "เสร็จแล้ว", "Arrête !") == [True, False, True, True]


def test_names_as_consonant_skeletons():
    # capitalised words inside a sentence; the first word is left out; c/q read as k
    found = pl.Series(
        one(checks.names, "Yesterday Mary told Tom about Boston.", "Tom left.", "Они видели Мэри в Октябре.")
    )
    assert found.to_list() == [["Mary", "Tom", "Boston"], [], ["Мэри", "Октябре"]]
    assert checks.name_skeletons(found).to_list() == [["mr", "tm", "bs"], [], ["mr", "kt"]]
    # transliterated skeletons of every word: Мэри -> Meri -> mr, トム -> tomu -> tm
    # (a word's skeleton may be shorter: `и` -> none, `は` -> ha -> h)
    assert checks.transliterated_skeletons(pl.Series(["Мэри и Том", "トム は"])).to_list() == [
        ["mr", "tm"],
        ["tm", "h"],
    ]


def test_cognate_overlap():
    src = pl.Series(["Amsterdam is the capital of the Netherlands.", "The cat sleeps."])
    tgt = pl.Series(["Amsterdam ist die Hauptstadt der Niederlande.", "Le chien dort."])
    # amst, capi, neth of the first: amst is shared (1/3); the second shares none of "slee"
    assert checks.cognate_overlap(src, tgt).to_list() == [pytest.approx(1 / 3), 0.0]
