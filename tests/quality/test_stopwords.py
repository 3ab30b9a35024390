import polars as pl
import pytest

from curate.core.languages import is_valid_language, language_key
from curate.quality.measures import token_frame
from curate.quality.stopwords import key_chain, stop_word_counts, stop_word_languages, stop_words

pytest.importorskip("stopwordsiso")
pytest.importorskip("langcodes")


@pytest.mark.parametrize(
    ("code", "key"),
    [
        ("fra", "fr"),
        ("fr", "fr"),
        ("fre", "fr"),
        ("fr-FR", "fr"),
        ("fra_Latn", "fr"),
        ("swh", "sw"),
        ("swa", "sw"),
        ("cmn", "zh"),
        ("zho_Hans", "zh"),
        ("arb", "ar"),
        ("pes", "fa"),
        ("nob", "nb"),
        ("tha", "th"),
        ("und", None),
        ("", None),
        (None, None),
    ],
)
def test_language_keys(code, key):
    assert language_key(code) == key


def test_valid_languages_and_fallbacks():
    assert is_valid_language("hin") and is_valid_language("sw")
    assert not is_valid_language("xx1") and not is_valid_language("und")
    assert key_chain("nb") == ("nb", "no") and key_chain("fr") == ("fr",) and key_chain(None) == ()


def test_stop_lists_cover_many_languages():
    languages = stop_word_languages()
    assert len(languages) >= 58
    assert {"ar", "zh", "th", "hi", "ru", "sw", "vi", "en", "fr", "de", "es", "el", "tr", "ro"} <= set(languages)
    assert "the" in stop_words("en") and "'ll" not in stop_words("en")  # only entries that can be one token
    assert "bao giờ" not in stop_words("vi") and "ai" in stop_words("vi")
    assert "สำหรับ" in stop_words("th")  # respelled with SARA AM as text writes it
    assert stop_words("nb") == stop_words("no") and stop_words("gd") == ()


def test_counts_tokens_or_substrings_by_language():
    texts = pl.Series(
        [
            "Most Western countries have now banned it, but it remains lawful.",
            "过去，体罚是世界上很多地区最常见的课堂纪律之一。",
            "ในอดีต การลงโทษทางร่างกาย เคย เป็นหนึ่งในรูปแบบการฝึกของโรงเรียน",
            "Most Western countries have now banned it.",
            "Aon dà trì.",
        ]
    )
    keys = pl.Series(["en", "zh", "th", None, "gd"])
    counts = stop_word_counts(texts, keys, token_frame(texts)).to_list()
    # English: most, have, now, it, but, it; Chinese and Thai: leftmost-longest substrings (过去 ... 之一; ใน, การ, ...)
    # unknown language, and no list for Scottish Gaelic: no count
    assert counts == [6, 11, 11, None, None]


def test_english_stop_words_in_french_text_do_not_count():
    texts = pl.Series(["Le chat est sur la table.", "Le chat est sur la table."])
    counts = stop_word_counts(texts, pl.Series(["fr", "en"]), token_frame(texts)).to_list()
    assert counts == [4, 1]  # le, est, sur, la as French; only "la" is on the English list
