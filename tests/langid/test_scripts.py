import polars as pl
import pytest

pytest.importorskip("langcodes")
pytest.importorskip("language_data")

from curate.langid.scripts import detect_scripts, language_scripts, likely_language, writable_in


def test_detect_scripts_in_many_scripts():
    texts = [
        "Pérennité des outils d'observation urbaine.",
        "Милый мой, ты у меня в груди.",
        "いや、そんな事をしている場合ではないのだけれども。",
        "伊綦厥屨。",  # Han alone: Hani
        "‘드럼 치는 외교관’으로도 인기를 누렸는데.",
        "السلطات الليبية استطاعت مواجهة جميع هذه الحركات والقضاء عليها.",
        "November 20, 2008 at 11:10 PM सर,आप चिंता ना करें,कालूसिद्ध बाबा सब ठीक करेंगे.",
        '"𐍄𐍂𐌰𐌿𐌰𐌹 𐌳𐌿 𐌼𐌹𐍃," 𐌵𐌰𐌸 𐌹𐍃.',
        "«Αστεράτος» στις μεταγραφές!",
        "2010这个数字里有两个零。",
        "Moscow is Москва",  # more Latin than Cyrillic
        "12345 !!!",
        "",
        None,
    ]
    out = detect_scripts(pl.Series(texts, dtype=pl.String))
    assert out["script"].to_list() == [
        "Latn",
        "Cyrl",
        "Jpan",
        "Hani",
        "Kore",
        "Arab",
        "Deva",
        "Goth",
        "Grek",
        "Hani",
        "Latn",
        None,
        None,
        None,
    ]
    shares = out["script_share"].to_list()
    assert shares[0] == 1.0 and shares[1] == 1.0 and shares[11] == 0.0
    assert shares[10] == pytest.approx(8 / 14)
    assert 0.5 < shares[6] < 1.0  # Devanagari with English date


def test_language_scripts_from_cldr():
    table = language_scripts()
    assert table["srp"] >= {"Cyrl", "Latn"}
    assert table["jpn"] == {"Jpan"}
    assert "Hani" in table["zho"] and "Hani" in table["yue"]
    assert table["kor"] == {"Kore"}


def test_writable_in():
    assert writable_in("rus", None) >= {"Cyrl"}
    assert writable_in("srp", "Latn") == {"Latn"}  # a GlotLID label names its script
    assert writable_in("cmn", "Hans") == {"Hani"}
    assert writable_in("und", None) is None
    assert writable_in("tlh-private", None) is None  # unknown: never ruled out


def test_likely_language_of_a_script():
    assert [likely_language(s) for s in ["Goth", "Kore", "Jpan", "Hani", "Grek", "Thai"]] == [
        "got",
        "kor",
        "jpn",
        "zho",
        "ell",
        "tha",
    ]


def test_letter_shares_per_script_class():
    from curate.langid.scripts import letter_shares, share_class

    assert [share_class(s) for s in ("Hebr", "Jpan", "Hani", "Kore", "Latn", "Zzzz", None)] == [
        "Hebr",
        "CJK",
        "CJK",
        "CJK",
        "Latn",
        None,
        None,
    ]
    texts = pl.Series(["ער האָט its", "我在 Google 上班", "1234", None])
    # Hebrew: 5 letters (the vowel point is no letter) of 8; Han: 4 of 10 letters
    assert letter_shares(texts, ["Hebr", "CJK", "Latn", "Latn"]) == [5 / 8, 4 / 10, None, None]
