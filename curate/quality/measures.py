"""The quality scores, computed for a whole batch at once.

Character and line ratios are polars expressions on the text (regex counts with `(?m)` for lines). Duplicate lines,
duplicate paragraphs and repeated n-grams need to compare the parts of one text with each other: the batch is
exploded to one row per line, paragraph or token, with the row index, and compared with `group_by`, `is_first_distinct`
and window functions, never with a Python loop per row. Definitions follow Gopher (Rae et al. 2021, appendix A) as
datatrove implements them, with tokens from `curate.quality.tokens` so that they hold for scripts without spaces.
"""

from __future__ import annotations

import polars as pl

from curate.core.text import NO_SPACE, SPACED_WORD, word_count
from curate.quality.tokens import tokens

# Sentence-final punctuation of every script (Unicode Sentence_Terminal: . ! ? 。 । ؟ ۔ ። ။ ។ ...), plus the
# ellipsis and the Tibetan shad, optionally followed by closing quotes and brackets (`"Yes."`, `(see above.)`).
_TERMINAL = r"[\p{Sentence_Terminal}…\u0f0d\u0f0e]"
_CLOSING = r"[\p{Pe}\p{Pf}\"'»」』]"
# Thai and Lao mark the end of a sentence with a space, not a punctuation mark: a line ending in their letters ends.
_ENDS_WITHOUT_MARK = r"[\p{Thai}\p{Lao}]"
# Marks that end a sentence in one script only: Armenian is mostly typed with `:` for its full stop (։), and Greek's
# question mark is `;` (U+037E, which Unicode normalises to the semicolon).
_ENDS_IN_SCRIPT = r"\p{Armenian}\p{Mn}*:|\p{Greek}\p{Mn}*;"
PUNCTUATION_END = rf"(?m)(?:(?:{_TERMINAL}|{_ENDS_IN_SCRIPT}){_CLOSING}*|{_ENDS_WITHOUT_MARK})[^\S\n]*$"
ELLIPSIS_END = r"(?m)(?:\.\.\.|…)[\p{Pe}\p{Pf}\"']*[^\S\n]*$"
# Bullet marks at the start of a line (Gopher's bullet-point lines); dashes other than `-` are left out because
# several languages (Russian, French, ...) open dialogue lines with them.
BULLET_START = r"(?m)^[^\S\n]*[•‣⁃◦∙●○■□▪▫◆◇►▶▸▹➢➤➔→✓✔✗✘★☆*\-](?:[^\S\n]|$)"
LINE = r"(?m)^[^\S\n]*\S"
# Symbols: Unicode symbol categories (math, currency, modifier, other: emoji, box drawing) and the ASCII marks that
# markup, code and boilerplate are made of.
SYMBOL = r"[\p{S}#*|_\\{}\[\]<>@~]"
DIGIT = r"\p{Nd}"
NON_SPACE = r"\S"
PARAGRAPH_BREAK = r"\n[^\S\n]*\n\s*"


def _col(column: str | pl.Expr) -> pl.Expr:
    return pl.col(column) if isinstance(column, str) else column


def _ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator / denominator, 0 where the denominator is 0."""
    return pl.when(denominator > 0).then(numerator / denominator).otherwise(0.0)


# Precomposed Hangul syllables, and those of them without a final consonant (every 28th): a syllable is 3 jamo, or 2.
_HANGUL_SYLLABLE = "[\uac00-\ud7a3]"
_HANGUL_OPEN = "[" + "".join(chr(0xAC00 + 28 * i) for i in range(399)) + "]"


def word_letters(column: str | pl.Expr) -> pl.Expr:
    """The letters a reader sees in the words of space-delimited scripts: letters, digits and spacing marks, not the
    marks that sit on a letter (an Indic virama or nasal sign, a combining accent), with a Hangul syllable block
    counted as the letters (jamo) it is made of: Korean is an alphabet written in blocks, and counted by blocks its
    words would look as short as Chinese ones. Abugidas counted in code points look twice as long as they read."""
    col = _col(column)
    letters = col.str.count_matches(rf"[[\p{{L}}\p{{N}}\p{{Mc}}]--[{NO_SPACE}]]")
    jamo_extra = 2 * col.str.count_matches(_HANGUL_SYLLABLE) - col.str.count_matches(_HANGUL_OPEN)
    return letters + jamo_extra


def row_measures(column: str | pl.Expr) -> dict[str, pl.Expr]:
    """Scores that need only the row itself, as expressions (text null counts as empty)."""
    col = _col(column).fill_null("")
    lines = col.str.count_matches(LINE)
    non_space = col.str.count_matches(NON_SPACE)
    n_spaced = col.str.count_matches(SPACED_WORD)
    return {
        "words": word_count(col),
        "spaced_words": n_spaced.cast(pl.UInt32),
        "chars": non_space,
        "mean_word_length": pl.when(n_spaced > 0).then(word_letters(col) / n_spaced),
        "symbol_ratio": _ratio(col.str.count_matches(SYMBOL), non_space),
        "digit_ratio": _ratio(col.str.count_matches(DIGIT), non_space),
        "lines": lines,
        "punctuation_endings": _ratio(col.str.count_matches(PUNCTUATION_END), lines),
        "bullets": _ratio(col.str.count_matches(BULLET_START), lines),
        "ellipsis": _ratio(col.str.count_matches(ELLIPSIS_END), lines),
    }


def _row_index(n: int) -> pl.Series:
    return pl.arange(0, n, dtype=pl.UInt32, eager=True).alias("row")


def duplicate_parts(texts: pl.Series, unit: str) -> pl.DataFrame:
    """Per row: the fraction of its lines (or paragraphs) that repeat an earlier one of the same text, and the fraction
    of its characters in those repeats (Gopher's dup_line_frac / dup_line_char_frac). Parts are stripped; empty ones
    are not parts. `unit` is "line" or "paragraph" (paragraphs are separated by blank lines)."""
    text = texts.fill_null("").str.replace_all(r"\r\n?|\u2028", "\n")
    if unit == "paragraph":
        text = text.str.replace_all(PARAGRAPH_BREAK, "\u2029")
        separator = "\u2029"
    else:
        text = text.str.replace_all("\u2029", "\n")
        separator = "\n"
    parts = (
        pl.DataFrame({"row": _row_index(len(texts)), "part": text.str.split(separator)})
        .explode("part")
        .with_columns(pl.col("part").str.strip_chars())
        .filter(pl.col("part").str.len_chars() > 0)
        .with_columns(
            repeat=~pl.struct("row", "part").is_first_distinct(),
            chars=pl.col("part").str.len_chars(),
        )
        .group_by("row")
        .agg(
            frac=pl.col("repeat").mean(),
            char_frac=(pl.col("chars") * pl.col("repeat")).sum() / pl.col("chars").sum(),
        )
    )
    out = pl.DataFrame({"row": _row_index(len(texts))}).join(parts, on="row", how="left", maintain_order="left")
    return out.select(pl.col("frac").fill_null(0.0), pl.col("char_frac").fill_null(0.0))


def token_frame(texts: pl.Series) -> pl.DataFrame:
    """One row per token: `row` (index of the text), `pos` (index in the text), `tok` (lower-cased), `chars`, `n`
    (tokens in the text); rows with no tokens have none."""
    frame = pl.DataFrame({"row": _row_index(len(texts)), "tok": pl.select(tokens(pl.lit(texts))).to_series()})
    frame = frame.with_columns(n=pl.col("tok").list.len().cast(pl.UInt32)).filter(pl.col("n") > 0).explode("tok")
    starts = pl.col("n").cum_sum().shift(1, fill_value=0)  # first token of each text in the exploded frame
    first = frame.select("row", "n").unique("row", keep="first", maintain_order=True).with_columns(start=starts)
    return frame.join(first.select("row", "start"), on="row", how="left", maintain_order="left").select(
        "row",
        (pl.int_range(pl.len(), dtype=pl.UInt32) - pl.col("start")).cast(pl.UInt32).alias("pos"),
        "tok",
        pl.col("tok").str.len_chars().alias("chars"),
        "n",
    )


# Multipliers of the polynomial rolling hash of n-grams (u64 arithmetic wraps): key_n = key_(n-1) * P + hash(token).
_P = 0x100000001B3
_Q = 0x9E3779B97F4A7C15


def ngram_repetition(
    text_chars: pl.Series, toks: pl.DataFrame, top: list[int], duplicate: list[int]
) -> dict[str, pl.Series]:
    """Gopher's repetition scores per row, as fractions of the characters of the text (`text_chars`, as datatrove
    does), counting the characters of the tokens in the n-grams:

    - `top_{n}gram`: the most frequent n-gram that occurs at least twice (ties: the longer), times its occurrences;
    - `duplicate_{n}gram`: the tokens covered by n-grams that repeat an earlier n-gram of the same text (each token
      counted once, however many repeated n-grams cover it).

    n-grams are rolling hashes over the exploded tokens (with the row mixed in, so one key is one n-gram of one text).
    A text without a repeated n-gram has no repeated longer one: after each size, only the texts with a repeat go on,
    so the long n-grams cost little on natural text.
    """
    n_rows = len(text_chars)
    rows = pl.DataFrame({"row": _row_index(n_rows)})
    zeros = pl.Series([0.0] * n_rows, dtype=pl.Float64)
    out = {**{f"top_{n}gram": zeros for n in top}, **{f"duplicate_{n}gram": zeros for n in duplicate}}
    totals = pl.DataFrame({"row": _row_index(n_rows), "total": text_chars.cast(pl.Float64)})
    frame = toks.select("row", "pos", "n", "chars", h=pl.col("tok").hash(seed=0), cum=pl.col("chars").cum_sum())
    frame = frame.with_columns(key=pl.col("h"))
    for n in range(2, max([*top, *duplicate, 1]) + 1):
        if frame.height == 0:
            break
        key = pl.col("key") * pl.lit(_P, pl.UInt64) + pl.col("h").shift(-(n - 1))
        valid = pl.col("pos") + n <= pl.col("n")
        frame = frame.with_columns(key=key).with_columns(
            rk=pl.when(valid).then(pl.col("key") * pl.lit(_Q, pl.UInt64) + pl.col("row").cast(pl.UInt64)),
            ngram_chars=pl.col("cum").shift(-(n - 1)) - pl.col("cum") + pl.col("chars"),
        )
        repeated = frame.select(pl.col("rk").is_not_null() & pl.col("rk").is_duplicated()).to_series()
        if n in top:
            best = (
                frame.filter(repeated)
                .group_by("rk")
                .agg(pl.col("row").first(), count=pl.len(), ngram_chars=pl.col("ngram_chars").first())
                .group_by("row")
                .agg(
                    top=(pl.col("count") * pl.col("ngram_chars"))
                    .sort_by(["count", "ngram_chars"], descending=[True, True])
                    .first()
                )
            )
            # Overlapping occurrences (`abab...`) can cover more than the text: capped at 1.
            share = pl.min_horizontal(pl.col("top") / pl.col("total"), pl.lit(1.0))
            out[f"top_{n}gram"] = _per_row(rows, best.join(totals, on="row"), share)
        if n in duplicate:
            later = pl.col("rk").is_not_null() & ~pl.col("rk").is_first_distinct()
            covered = (
                frame.select(
                    "row",
                    "chars",
                    covered=later.cast(pl.UInt8).rolling_max(window_size=n, min_samples=1).cast(pl.Boolean),
                )
                .group_by("row")
                .agg(dup=(pl.col("chars") * pl.col("covered")).sum())
                .join(totals, on="row")
            )
            out[f"duplicate_{n}gram"] = _per_row(rows, covered, pl.col("dup") / pl.col("total"))
        with_repeat = frame.filter(repeated)["row"].unique()
        frame = frame.filter(pl.col("row").is_in(with_repeat.implode()))
    return out


def _per_row(rows: pl.DataFrame, values: pl.DataFrame, expr: pl.Expr) -> pl.Series:
    """`expr` evaluated on `values` (keyed by `row`), aligned to every row, 0 where a row has no value."""
    joined = rows.join(
        values.with_columns(value=expr).select("row", "value"), on="row", how="left", maintain_order="left"
    )
    return joined["value"].fill_null(0.0).fill_nan(0.0).cast(pl.Float64)
