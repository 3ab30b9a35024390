"""The quality step's repetition measures beside datatrove's Gopher repetition filter, on the same texts.

    python bench/gopher_reference.py [--shared ../shared/eval] [--per-lang 240]

Both implement Gopher's repetition rules (Rae et al. 2021, table A1) with Gopher's limits, but they do not measure the
same quantity:
- words: datatrove splits with a word tokenizer per language (spaCy's, PyThaiNLP for Thai), punctuation marks
  included as words; the step takes runs of letters and digits (one token per Han or kana character, one per run of
  Thai, Lao, Khmer, Myanmar letters between spaces), punctuation left out;
- top n-gram (2-4): datatrove counts the characters of the n-gram joined with spaces (`"a b"`: 3), and its most
  frequent n-gram even when it occurs once; the step counts the letters of the tokens (`"a b"`: 2), and only
  n-grams that occur at least twice;
- duplicate n-grams (5-10): datatrove joins without spaces (letters, as the step does) but walks the words once,
  jumping over a repeated n-gram; the step counts every token covered by a repeated n-gram once;
- lines and paragraphs: datatrove splits on newlines (paragraphs on two or more), unstripped; the step strips them
  and takes a line with only spaces as a paragraph break.
Every fraction is over all the characters of the text, in both.

Texts: the XQuAD paragraphs of `shared/eval/dedup/xquad_paragraphs.jsonl` (clean Wikipedia text in 12 languages;
`pip install 'curate[bench]'` installs the tokenizers datatrove needs for them), each as one line and with one
sentence per line, and repetitive texts made from them (seeded): a phrase of the paragraph repeated, a sentence
repeated, the paragraph twice, a line repeated. Printed: each measure by both (means, the median ratio, rank
correlation), what separates them (datatrove's top n-gram joined without spaces, and counted only when repeated),
the n-gram rules that fire on one side only per language, and the keep/drop decisions of the whole filter, overall,
per kind of text and per language.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from curate.stages.quality import GOPHER_DUPLICATE_NGRAM, GOPHER_TOP_NGRAM, Quality

SHARED = ROOT.parent / "shared" / "eval"
SEED = 13
# XQuAD's languages -> datatrove's tokenizer key. Named by ISO 639-3 and script: datatrove's two-letter keys pick a
# tokenizer that leaves Chinese unsplit for `zh` (spaCy's multi-language one) and Stanza's Kurmanji one for `hi`.
LANGUAGES = {
    "ar": "ara_Arab",
    "de": "deu_Latn",
    "el": "ell_Grek",
    "en": "eng_Latn",
    "es": "spa_Latn",
    "hi": "hin_Deva",
    "ro": "ron_Latn",
    "ru": "rus_Cyrl",
    "th": "tha_Thai",
    "tr": "tur_Latn",
    "vi": "vie_Latn",
    "zh": "cmn_Hani",
}
PART_LIMITS = {
    "duplicate_paragraphs": 0.3,
    "duplicate_paragraph_chars": 0.2,
    "duplicate_lines": 0.3,
    "duplicate_line_chars": 0.2,
}
LIMITS = {
    **PART_LIMITS,
    **{f"top_{n}gram": v for n, v in GOPHER_TOP_NGRAM.items()},
    **{f"duplicate_{n}gram": v for n, v in GOPHER_DUPLICATE_NGRAM.items()},
}
STEP_RULES = ["quality:duplicate_paragraphs", "quality:duplicate_lines", "quality:repetition"]
SENTENCE_END = re.compile(r"(?<=[.!?。।؟])\s+")


def tokenizers(languages: dict[str, str]) -> dict:
    """datatrove's word tokenizer of each language that has one that runs here (others are named and left out:
    spaCy's Chinese needs jieba, Vietnamese pyvi, Hindi indic-nlp-library, Thai pythainlp)."""
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    found = {}
    for lang, key in languages.items():
        try:
            tokenizer = load_word_tokenizer(key)
            tokenizer.word_tokenize("a b")
            found[lang] = tokenizer
        except Exception as exc:  # noqa: BLE001  (each tokenizer fails its own way without its package)
            print(f"left out: {lang} ({type(exc).__name__}: {str(exc).splitlines()[0][:100]})")
    return found


def texts(shared: Path, languages: list[str], per_lang: int) -> pl.DataFrame:
    """(lang, kind, text): clean paragraphs in two forms, and repetitive texts made from them."""
    paragraphs = pl.read_ndjson(shared / "dedup" / "xquad_paragraphs.jsonl").filter(pl.col("lang").is_in(languages))
    paragraphs = paragraphs.with_columns(pl.col("text").str.strip_chars())
    paragraphs = paragraphs.group_by("lang", maintain_order=True).head(per_lang)
    rnd = random.Random(SEED)
    rows = []
    for lang, text in paragraphs.select("lang", "text").iter_rows():
        sentences = [s for s in SENTENCE_END.split(text) if s]
        words = text.split(" ")
        rows.append((lang, "clean, one line", text))
        rows.append((lang, "clean, a sentence a line", "\n".join(sentences)))
        start = rnd.randrange(max(1, len(words) - 2))
        phrase = " ".join(words[start : start + rnd.choice([2, 3])])
        noisy = list(words)
        for _ in range(rnd.choice([2, 4, 8, 16])):
            noisy.insert(rnd.randrange(len(noisy) + 1), phrase)
        rows.append((lang, "a phrase repeated", " ".join(noisy)))
        repeated = list(sentences)
        sentence = rnd.choice(sentences)
        for _ in range(rnd.choice([1, 2, 4])):
            repeated.insert(rnd.randrange(len(repeated) + 1), sentence)
        rows.append((lang, "a sentence repeated", " ".join(repeated)))
        rows.append((lang, "the paragraph twice", text + " " + text))
        lines = list(sentences)
        line = rnd.choice(sentences)
        for _ in range(rnd.choice([1, 2, 3])):
            lines.insert(rnd.randrange(len(lines) + 1), line)
        rows.append((lang, "a line repeated", "\n".join(lines)))
    return pl.DataFrame(rows, schema=["lang", "kind", "text"], orient="row")


def datatrove_scores(frame: pl.DataFrame, tokenizers: dict) -> pl.DataFrame:
    """datatrove's measures, computed with its own functions, and its filter's decision (None: kept)."""
    from datatrove.data import Document
    from datatrove.pipeline.filters.gopher_repetition_filter import (
        GopherRepetitionFilter,
        find_all_duplicate,
        find_duplicates,
        find_top_duplicate,
        get_n_grams,
    )

    filters = {lang: GopherRepetitionFilter(language=tok) for lang, tok in tokenizers.items()}
    rows = []
    for i, (lang, text) in enumerate(frame.select("lang", "text").iter_rows()):
        size = len(text)
        row = {}
        for unit, parts in (("paragraph", re.split(r"\n{2,}", text.strip())), ("line", re.split("\n+", text))):
            repeats, chars = find_duplicates(parts)
            row[f"duplicate_{unit}s"], row[f"duplicate_{unit}_chars"] = repeats / len(parts), chars / size
        words = tokenizers[lang].word_tokenize(text)
        for n in GOPHER_TOP_NGRAM:
            grams = get_n_grams(words, n)
            row[f"top_{n}gram"] = find_top_duplicate(grams) / size if grams else 0.0
            # what separates the two: the spaces joining the words, and an n-gram that occurs once
            joined = ["".join(words[k : k + n]) for k in range(len(words) - n + 1)]
            row[f"top_{n}gram_unspaced"] = find_top_duplicate(joined) / size if joined else 0.0
            counts = {}
            for gram in joined:
                counts[gram] = counts.get(gram, 0) + 1
            best = max(((c, len(g)) for g, c in counts.items() if c > 1), default=(0, 0))
            row[f"top_{n}gram_unspaced_repeated"] = best[0] * best[1] / size
        for n in GOPHER_DUPLICATE_NGRAM:
            row[f"duplicate_{n}gram"] = find_all_duplicate(words, n) / size
        verdict = filters[lang].filter(Document(text=text, id=str(i)))
        row["drop"] = None if verdict is True else verdict[1]
        rows.append(row)
    return pl.DataFrame(rows)


def step_scores(frame: pl.DataFrame) -> pl.DataFrame:
    """The quality step's scores (`action: tag`, defaults: Gopher's limits), and the repetition rules that fire."""
    tagged = Quality.from_dict({"action": "tag"}).process(frame.select("text")).kept
    scores = tagged.select([pl.col(f"text_quality_{m}").alias(m) for m in LIMITS])
    flags = tagged["text_quality_flags"].list.set_intersection(STEP_RULES)
    return scores.with_columns(drop=pl.when(flags.list.len() > 0).then(flags.list.first()))


def compare(ours: pl.DataFrame, theirs: pl.DataFrame) -> pl.DataFrame:
    """Per measure: both means, the median ratio (texts where datatrove's is above 0), the rank correlation, and the
    decisions at Gopher's limit."""
    rows = []
    for name, limit in LIMITS.items():
        both = pl.DataFrame({"ours": ours[name], "dt": theirs[name]})
        positive = both.filter(pl.col("dt") > 0)
        a, b = both["ours"] > limit, both["dt"] > limit
        rows.append(
            {
                "measure": name,
                "limit": limit,
                "ours mean": both["ours"].mean(),
                "datatrove mean": both["dt"].mean(),
                "median ours/datatrove": (positive["ours"] / positive["dt"]).median() if positive.height else None,
                "spearman": both.select(pl.corr("ours", "dt", method="spearman").fill_nan(None)).item(),
                "drop: ours": int(a.sum()),
                "drop: datatrove": int(b.sum()),
                "both": int((a & b).sum()),
                "agree %": round(100 * float((a == b).mean()), 2),
            }
        )
    return pl.DataFrame(rows)


def rule_disagreements(frame: pl.DataFrame, ours: pl.DataFrame, theirs: pl.DataFrame) -> pl.DataFrame:
    """Per language: texts where one side's top n-gram rules (any n) or duplicate n-gram rules fire and the other's
    do not, at Gopher's limits."""

    def fires(scores: pl.DataFrame, prefix: str) -> pl.Series:
        names = [m for m in LIMITS if m.startswith(prefix) and m.endswith("gram")]
        return scores.select(pl.any_horizontal([pl.col(m) > LIMITS[m] for m in names])).to_series()

    columns = {}
    for prefix in ("top", "duplicate"):
        a, b = fires(ours, prefix), fires(theirs, prefix)
        columns[f"{prefix}: ours only"], columns[f"{prefix}: datatrove only"] = a & ~b, ~a & b
    flags = pl.concat([frame.select("lang"), pl.DataFrame(columns)], how="horizontal")
    return flags.group_by("lang").agg(pl.len().alias("texts"), pl.exclude("lang").sum()).sort("lang")


def agreement(frame: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    ours, theirs = pl.col("ours").is_not_null(), pl.col("datatrove").is_not_null()
    return (
        frame.group_by(by)
        .agg(
            pl.len().alias("texts"),
            (ours.mean() * 100).round(1).alias("ours drop %"),
            (theirs.mean() * 100).round(1).alias("datatrove drop %"),
            ((ours == theirs).mean() * 100).round(1).alias("agree %"),
            (ours & ~theirs).sum().alias("ours only"),
            (~ours & theirs).sum().alias("datatrove only"),
        )
        .sort(by)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--per-lang", type=int, default=240, help="XQuAD paragraphs per language (240: all)")
    args = parser.parse_args()
    pl.Config.set_tbl_rows(100)
    pl.Config.set_tbl_cols(20)
    pl.Config.set_tbl_width_chars(220)
    pl.Config.set_tbl_hide_dataframe_shape(True)
    pl.Config.set_tbl_formatting("ASCII_MARKDOWN")
    pl.Config.set_float_precision(4)

    found = tokenizers(LANGUAGES)
    frame = texts(args.shared, list(found), args.per_lang)
    started = time.perf_counter()
    ours = step_scores(frame)
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    theirs = datatrove_scores(frame, found)
    theirs_s = time.perf_counter() - started
    print(
        f"\n# {frame.height:,} texts, {len(found)} languages ({', '.join(found)}); the step scored them in "
        f"{ours_s:.1f}s, datatrove in {theirs_s:.1f}s\n"
    )

    print("## each measure, and the decision at Gopher's limit (drop when above it)")
    print(compare(ours, theirs))

    print("\n## top n-gram: what separates the two (means; datatrove's words)")
    split = pl.DataFrame(
        [
            {
                "n": n,
                "ours": ours[f"top_{n}gram"].mean(),
                "datatrove (joined with spaces)": theirs[f"top_{n}gram"].mean(),
                "joined without spaces": theirs[f"top_{n}gram_unspaced"].mean(),
                "repeated only, as the step": theirs[f"top_{n}gram_unspaced_repeated"].mean(),
            }
            for n in GOPHER_TOP_NGRAM
        ]
    )
    print(split)
    print("\nn-gram rules that fire on one side only, per language (any n)")
    print(rule_disagreements(frame, ours, theirs))

    decisions = pl.DataFrame({"ours": ours["drop"], "datatrove": theirs["drop"]})
    decided = pl.concat([frame.select("lang", "kind"), decisions], how="horizontal")
    print(
        "\n## the whole repetition filter (the step: duplicate_paragraphs, duplicate_lines, repetition; datatrove: "
        "GopherRepetitionFilter), per kind of text"
    )
    print(agreement(decided, ["kind"]))
    print("\nper language")
    print(agreement(decided, ["lang"]))
    clean = decided.filter(pl.col("kind").str.starts_with("clean"))
    reasons = pl.concat(
        [
            clean.select(by=pl.lit(side), lang="lang", reason=column)
            for side, column in (("step", "ours"), ("datatrove", "datatrove"))
        ]
    ).drop_nulls("reason")
    print("\nclean paragraphs dropped, by reason and language")
    print(reasons.group_by("by", "reason", "lang").len().sort("by", "reason", "lang"))
    overall = agreement(decided.with_columns(all=pl.lit("all")), ["all"]).row(0, named=True)
    print(
        f"\noverall: the step drops {overall['ours drop %']}% of the texts, datatrove "
        f"{overall['datatrove drop %']}%; "
        f"they agree on {overall['agree %']}% ({overall['ours only']} dropped by the step only, "
        f"{overall['datatrove only']} by datatrove only)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
