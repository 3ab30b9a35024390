"""Context words that say a nearby number is a phone number, in the row's language."""

from curate.pii.context import PHONE_WORDS, phone_context


def words(text, language=None):
    return [m.group() for m in phone_context(language).finditer(text)]


def test_whole_words_stems_and_unspaced_scripts():
    assert words("Tel.: 1, tell me, hotel, Telefonnummer, téléphonez, 電話番号, โทรหา") == [
        "Tel",
        "Telefon",
        "téléphone",
        "電話",
        "โทร",
    ]
    assert words("Appelez-moi, call me, ring 3") == ["Appel", "call", "ring"]


def test_the_row_language_narrows_the_words():
    assert words("llámame", "es") == ["lláma"]
    assert words("llámame", "de") == []  # German rows: German words and the international ones
    assert words("Ruf an, Tel. 1", "de") == ["Tel"]
    assert words("llámame", "xx") == words("llámame") == ["lláma"]  # unknown language: every language's words


def test_every_language_has_a_noun_for_phone():
    assert len(PHONE_WORDS) > 60
    assert all(PHONE_WORDS[lang] for lang in PHONE_WORDS)
