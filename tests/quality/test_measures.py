import polars as pl
import pytest

from curate.quality.measures import duplicate_parts, ngram_repetition, row_measures, token_frame


def _row(text: str | None) -> dict:
    return pl.DataFrame({"t": [text]}, schema={"t": pl.String}).select(**row_measures("t")).row(0, named=True)


def test_mean_word_length_counts_space_delimited_words_only():
    assert _row("don't stop-me now")["mean_word_length"] == pytest.approx(13 / 3)  # dont, stopme, now
    assert _row("DECnet是 由 Digital 创造的")["mean_word_length"] == pytest.approx(13 / 2)
    assert _row("他不喜欢我们。")["mean_word_length"] is None  # no space-delimited word: no score
    assert _row("他不喜欢我们。")["words"] == 6


def test_word_length_counts_the_letters_a_reader_sees():
    # किया है: क ि य ा (the vowel signs ि and ा take their own place: 4) and ह ै (ै sits on the letter: 1)
    assert _row("किया है")["mean_word_length"] == pytest.approx(5 / 2)
    # a combining accent (NFD) is no letter: é written as e + U+0301 counts once
    assert _row("cafe\u0301 noir")["mean_word_length"] == pytest.approx(8 / 2)


def test_hangul_blocks_count_as_their_jamo():
    # 한국어 = 8 jamo, 문장입니다 = 13 jamo (blocks with a final consonant are 3, open ones 2)
    assert _row("한국어 문장입니다")["mean_word_length"] == pytest.approx(21 / 2)


def test_character_ratios():
    row = _row("입력: 2007년 12월 24일 18:45:50")  # a Korean dateline (lid.jsonl)
    assert row["chars"] == 22 and row["digit_ratio"] == pytest.approx(14 / 22)
    row = _row("Отличный товар ★★★★★ ♥♥♥ #лучший")
    assert row["chars"] == 28 and row["symbol_ratio"] == pytest.approx(9 / 28)


def test_line_shares_of_any_script():
    lines = [
        "在1977年美国最高法院做出一项裁决。",  # ideographic full stop
        "अब इसे प्रतिबंधित कर दिया है।",  # danda
        "هل هذا قانوني؟",  # Arabic question mark
        "• Most Western countries have now banned it",
        "ในอดีต การลงโทษทางร่างกาย",  # Thai ends a sentence without a mark
        "He said: “it remains lawful.”",  # closing quote after the full stop
        "I don't know what to say...",
        "Menu | Home | Contact",
    ]
    row = _row("\n".join(lines))
    assert row["lines"] == 8
    assert row["punctuation_endings"] == pytest.approx(6 / 8)
    assert row["bullets"] == pytest.approx(1 / 8)
    assert row["ellipsis"] == pytest.approx(1 / 8)


def test_null_and_empty_text():
    for text in (None, ""):
        row = _row(text)
        assert (row["words"], row["lines"], row["symbol_ratio"], row["punctuation_endings"]) == (0, 0, 0.0, 0.0)


def test_duplicate_lines_and_paragraphs():
    text = "Первая строка.\nВторая строка.\n\nПервая строка.\n  Первая строка.  \n\nВторая строка.\nТретья."
    texts = pl.Series([text, "одна строка", None])
    lines = duplicate_parts(texts, "line")
    assert lines["frac"].to_list() == pytest.approx([3 / 6, 0, 0])
    assert lines["char_frac"].to_list() == pytest.approx([(14 * 2 + 14) / (14 * 5 + 7), 0, 0])
    paragraphs = duplicate_parts(texts, "paragraph")  # "Первая строка.\nВторая строка." is not repeated as a whole
    assert paragraphs["frac"].to_list() == pytest.approx([0, 0, 0])
    assert duplicate_parts(pl.Series(["A b.\n\nC d.\n\nA b."]), "paragraph")["frac"].to_list() == pytest.approx([1 / 3])


def _repetition(texts: list[str], top=(2, 3, 4), dup=(5, 6, 10)) -> dict[str, list[float]]:
    series = pl.Series(texts, dtype=pl.String)
    out = ngram_repetition(series.str.len_chars(), token_frame(series), list(top), list(dup))
    return {name: values.to_list() for name, values in out.items()}


def test_repeated_ngrams_in_characters_of_the_text():
    text = "the cat sat on the mat the cat sat on the mat"  # 45 characters, 6 words twice
    scores = _repetition([text, "one two three", ""])
    # most frequent 2-gram repeated: "the cat" (2x, 6 letters; ties broken by length) -> 12 / 45
    assert scores["top_2gram"] == pytest.approx([12 / 45, 0, 0])
    assert scores["top_3gram"] == pytest.approx([2 * 9 / 45, 0, 0])
    # the second half repeats the first: its 6 words (17 letters) are covered by repeated 5- and 6-grams
    assert scores["duplicate_5gram"] == pytest.approx([17 / 45, 0, 0])
    assert scores["duplicate_6gram"] == pytest.approx([17 / 45, 0, 0])
    assert scores["duplicate_10gram"] == pytest.approx([0, 0, 0])


def test_repetition_of_chinese_counts_characters_and_is_capped():
    scores = _repetition(["我们我们我们我们"], top=(2, 3), dup=(5, 7))
    assert scores["top_2gram"] == pytest.approx([1.0])  # "我们" 4 times covers all 8 characters
    assert scores["top_3gram"] == pytest.approx([1.0])  # overlapping occurrences (9 characters of 8): capped
    assert scores["duplicate_5gram"] == pytest.approx([6 / 8])
    assert scores["duplicate_7gram"] == pytest.approx([0.0])


def test_token_frame_positions_restart_per_text():
    frame = token_frame(pl.Series(["a b", None, "", "他们 c"]))
    assert frame.select("row", "pos", "tok", "chars", "n").rows() == [
        (0, 0, "a", 1, 2),
        (0, 1, "b", 1, 2),
        (3, 0, "他", 1, 3),
        (3, 1, "们", 1, 3),
        (3, 2, "c", 1, 3),
    ]
