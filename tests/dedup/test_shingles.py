import numpy as np
import polars as pl
import pytest

from curate.dedup import shingles as sh

# Real text in several scripts (UDHR article 3/9 translations, XQuAD paragraph openings).
SAMPLES = [
    "Everyone has the right to life, liberty and security of person.",
    "Всеки човек има право на ефективно възстановяване на правата си.",
    "کسی شخص کو محض حاکم کی مرضی پر گرفتار، نظربند، یا جلاوطن نہیں کیا جائے گا۔",
    "पैंथर्स की डिफ़ेन्स ने लीग में केवल 308 अंक दिए और छठे स्थान पर रहे।",
    "黑豹队的防守只丢了 308分，在联赛中排名第六。",
    "ทีมรับของแพนเธอร์สถอดใจที่คะแนน 308 ได้อันดับที่หกของลีก",
    "すべての人間は、生まれながらにして自由であり、かつ、尊厳と権利とについて平等である。",
    "모든 인간은 태어날 때부터 자유로우며 그 존엄과 권리에 있어 동등하다.",
    "ΟΔΟΣ  του   Ἑλληνικοῦ — «κειμένου»!",
    "",
    "x",
    "  ¡¡Hola!!  ",
]


def reference(texts, mode, n, lowercase=True, fold_punctuation=True, fold_whitespace=True):
    """Shingle hashes per text from the pure-Python reference on polars-normalised strings."""
    low = [sh.casefold(t) if lowercase else t for t in texts]
    norm = pl.Series(low).to_frame("t").select(sh.normalized(pl.col("t"), False, fold_punctuation, fold_whitespace))
    return [[sh.shingle_hash32(s, mode) for s in sh.shingles(t, mode, n)] for t in norm["t"].to_list()]


def vectorised(texts, tokenize, n, **flags):
    series = texts if isinstance(texts, pl.Series) else pl.Series(texts, dtype=pl.String)
    hashes, per_doc = sh.batch_shingles(series, tokenize, n, **flags)
    bounds = np.concatenate(([0], np.cumsum(per_doc)))
    return [hashes[bounds[k] : bounds[k + 1]].tolist() for k in range(len(series))]


@pytest.mark.parametrize("mode", ["word", "char"])
@pytest.mark.parametrize("n", [1, 3, 5])
def test_compiled_shingles_equal_the_python_reference(mode, n):
    assert vectorised(SAMPLES, mode, n) == reference(SAMPLES, mode, n)


@pytest.mark.parametrize(
    "flags",
    [
        {"lowercase": False},
        {"fold_punctuation": False},
        {"fold_whitespace": False},
        {"lowercase": False, "fold_punctuation": False, "fold_whitespace": False},
    ],
)
def test_normalisation_switches_match_the_reference(flags):
    for mode in ("word", "char"):
        assert vectorised(SAMPLES, mode, 4, **flags) == reference(SAMPLES, mode, 4, **flags)


def test_auto_uses_characters_for_scripts_without_spaces():
    is_char = sh.no_space_script(pl.Series(SAMPLES))
    assert is_char.tolist() == [False, False, False, False, True, True, True, False, False, False, False, False]
    auto = vectorised(SAMPLES, "auto", 5)
    words, chars = reference(SAMPLES, "word", 5), reference(SAMPLES, "char", 5)
    assert auto == [c if flag else w for w, c, flag in zip(words, chars, is_char)]


def test_short_and_empty_texts():
    texts = ["one two", "", "   ", "a b c d e"]
    counts = [len(h) for h in vectorised(texts, "word", 5)]
    assert counts == [1, 0, 0, 1]  # fewer tokens than n: one shingle of all of them; nothing: none
    assert vectorised(["ab"], "char", 5)[0] == [sh.shingle_hash32("ab", "char")]


def test_case_and_punctuation_folding_make_equal_shingles():
    a, b = vectorised(["The quick, brown FOX!", "the quick brown fox"], "word", 2)
    assert a == b
    greek = vectorised(["ΟΔΟΣ ΚΑΙ ΔΡΟΜΟΣ", "οδος και δρομος"], "word", 1)
    assert greek[0] == greek[1]  # final sigma folds to sigma whichever case it came from


def test_chunking_does_not_change_hashes(monkeypatch):
    texts = SAMPLES * 3
    whole = vectorised(texts, "auto", 5)
    monkeypatch.setattr(sh, "CHUNK_BYTES", 50)  # chunks hashed on several threads
    assert vectorised(texts, "auto", 5) == whole
    sliced = pl.Series(["padding"] + texts).slice(1)  # texts that start inside their Arrow buffer
    assert vectorised(sliced, "auto", 5) == whole
    assert [len(h) for h in vectorised([None, "a b c d e"], "word", 5)] == [0, 1]


def test_hashes_are_a_fixed_function():
    """Saved signatures must stay comparable: these values may only change with HASH_VERSION."""
    assert sh.shingle_hash32(("the", "quick", "brown", "fox", "jumps"), "word") == 3744632878
    assert sh.shingle_hash32("中文字符串", "char") == 4048669270
    assert vectorised(["the quick brown fox jumps"], "word", 5) == [[3744632878]]


def test_ngram_bounds():
    with pytest.raises(ValueError, match="ngram must be between 1 and 64"):
        sh.batch_shingles(pl.Series(["a"]), "word", 0)
