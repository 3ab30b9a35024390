import polars as pl

from curate.core.text import SPACED_WORD, word_count
from curate.quality.tokens import single_tokens, tokens


def _tokens(text: str) -> list[str]:
    return pl.DataFrame({"t": [text]}).select(tokens("t"))["t"].to_list()[0]


def test_tokens_of_every_script():
    assert _tokens("Don't panic, e-mail me!") == ["don't", "panic", "e-mail", "me"]
    assert _tokens("他不喜欢我们。") == ["他", "不", "喜", "欢", "我", "们"]
    assert _tokens("Впервые ДИЗ я увидел") == ["впервые", "диз", "я", "увидел"]
    # Thai, Lao, Khmer, Myanmar: a run between spaces (a phrase) is one token
    assert _tokens("ในอดีต การลงโทษทางร่างกาย 1977") == ["ในอดีต", "การลงโทษทางร่างกาย", "1977"]
    assert _tokens("— … !!!") == []


def test_tokens_agree_with_word_count_where_words_are_delimited():
    texts = ["Hello world, don't panic!", "日本語のテキストです", "Привет, мир", "مرحبا بالعالم", "12 e-mail", "   "]
    frame = pl.DataFrame({"t": texts}).select(n=tokens("t").list.len(), words=word_count("t"))
    assert frame["n"].to_list() == frame["words"].to_list()


def test_spaced_words_leave_out_scripts_without_spaces():
    frame = pl.DataFrame({"t": ["DECnet是 由 Digital Equipment 创造的"]})
    words = frame.select(pl.col("t").str.extract_all(SPACED_WORD))["t"].to_list()[0]
    assert words == ["DECnet", "Digital", "Equipment"]


def test_single_tokens_keeps_entries_that_can_match_a_token():
    assert single_tokens(["The", "a's", "'ll", "bao giờ", "ai", "THE", "10"]) == ["the", "a's", "ai", "10"]
