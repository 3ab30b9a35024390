import polars as pl
import pytest

from curate.stages.length import Length
from curate.text import word_count


def test_word_count_in_many_scripts():
    texts = ["Hello world, don't panic!", "日本語のテキストです", "สวัสดีครับ ผมชื่อสมชาย", "Привет, мир", "مرحبا بالعالم",
             "   ", "12 e-mail", "한국어 문장입니다", "— … !!!"]  # fmt: skip
    counts = pl.DataFrame({"t": texts}).select(word_count("t"))["t"].to_list()
    assert counts == [4, 10, 5, 2, 2, 0, 2, 2, 0]


def test_reasons_in_order():
    frame = pl.DataFrame({"text": ["ok sentence here", "x", "a" * 50, "one", "many words " * 10, "日本語の文章"]})
    step = Length.from_dict({"min_chars": 2, "max_chars": 40, "min_words": 2, "max_words": 8})
    result = step.process(frame)
    assert result.kept["text"].to_list() == ["ok sentence here", "日本語の文章"]
    assert result.rejected.select("text", "_reason").rows() == [
        ("x", "length:too_short"), ("a" * 50, "length:too_long"), ("one", "length:too_few_words"),
        ("many words " * 10, "length:too_long"),
    ]  # fmt: skip


def test_thai_is_not_one_word():
    step = Length.from_dict({"min_words": 3})
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
