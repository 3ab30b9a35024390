import polars as pl
import pytest

from curate.core.text import word_count
from curate.stages.length import Length
from tests.conftest import ROOT

# Counted by hand, word by word (Chinese and Japanese: one word per Han or kana character, as CJK tokenizers do).
HAND_COUNTS = [
    ("Hello world, don't panic!", 4),  # Hello | world | don't | panic
    ("日本語のテキストです", 10),  # 日 本 語 の テ キ ス ト で す
    ("สวัสดีครับ ผมชื่อสมชาย", 5),  # สวัสดี (hello) | ครับ (polite) | ผม (I) | ชื่อ (am called) | สมชาย (Somchai)
    ("ผมชื่อสมชายครับ", 4),  # ผม | ชื่อ | สมชาย | ครับ
    ("Привет, мир", 2),  # Привет | мир
    ("مرحبا بالعالم", 2),  # مرحبا | بالعالم (the article and the noun are written as one word)
    ("   ", 0),
    ("12 e-mail", 2),  # 12 | e-mail
    ("한국어 문장입니다", 2),  # 한국어 | 문장입니다 (Korean separates phrases with spaces)
    ("— … !!!", 0),  # punctuation is not a word
]


def test_word_count_in_many_scripts():
    texts = [text for text, _ in HAND_COUNTS]
    counts = pl.DataFrame({"t": texts}).select(word_count("t"))["t"].to_list()
    assert counts == [count for _, count in HAND_COUNTS]


def test_thai_word_count_is_near_a_dictionary_segmenter():
    """Thai has no spaces between words: `word_count` estimates them from the letters (3 a word). On the 50 Thai
    Wikipedia paragraphs of data/wiki, PyThaiNLP's dictionary segmenter (newmm) finds 7,142 words and the estimate
    9,112 (+28%: newmm's words have 3.9 letters). The estimate must stay within a third of the segmenter's count."""
    pythainlp = pytest.importorskip("pythainlp.tokenize")
    paragraphs = pl.read_csv(ROOT / "data" / "wiki" / "paragraphs.csv", infer_schema=False)
    paragraphs = paragraphs.filter(pl.col("lang") == "th")
    assert paragraphs.height == 50
    estimated = paragraphs.select(word_count("text")).to_series().sum()
    words = [w for text in paragraphs["text"] for w in pythainlp.word_tokenize(text, engine="newmm")]
    segmented = sum(1 for w in words if any(c.isalnum() for c in w))  # not spaces or punctuation
    assert abs(estimated - segmented) / segmented < 1 / 3, (estimated, segmented)


def test_reasons_in_order():
    frame = pl.DataFrame({"text": ["ok sentence here", "x", "a" * 50, "one", "many words " * 10, "日本語の文章"]})
    step = Length.from_dict({"min_chars": 2, "max_chars": 40, "min_words": 2, "max_words": 8})
    result = step.process(frame)
    assert result.kept["text"].to_list() == ["ok sentence here", "日本語の文章"]
    assert result.rejected.select("text", "_reason").rows() == [
        ("x", "length:too_short"),
        ("a" * 50, "length:too_long"),
        ("one", "length:too_few_words"),
        ("many words " * 10, "length:too_long"),
    ]


def test_thai_is_not_one_word():
    step = Length.from_dict({"min_words": 3})
    # by hand: ผม | ชื่อ | สมชาย | ครับ (4 words, kept); ครับ (1 word, too few)
    result = step.process(pl.DataFrame({"text": ["ผมชื่อสมชายครับ", "ครับ"]}))
    assert result.kept["text"].to_list() == ["ผมชื่อสมชายครับ"]
    assert result.rejected["_reason"].to_list() == ["length:too_few_words"]


def test_other_field_and_null():
    step = Length.from_dict({"field": "target", "min_chars": 1})
    result = step.process(pl.DataFrame({"text": ["a", "b"], "target": ["x", None]}))
    assert result.rejected.select("text", "_reason").rows() == [("b", "length:too_short")]


def test_inverted_bounds_are_a_config_error():
    with pytest.raises(ValueError, match=r"min_chars \(10\) is larger than max_chars \(5\)"):
        Length.from_dict({"min_chars": 10, "max_chars": 5})
