"""Quality filters on clean text in every language, and on junk made from the same text.

    python bench/quality.py [--shared ../shared/eval] [--config '{...}'] [--langs]

Clean documents, all from `shared/eval` (text nobody here wrote or tuned on):
- `lid`: the sentences of `lid/lid.jsonl`, 10 of one language and source per document (150 languages);
- `parallel`: the target sentences of `parallel/eng-*.jsonl`, 10 per document (21 languages);
- `udhr`: the articles of `dedup/udhr_revisions_texts.jsonl` (latest revision), 5 per document (54 languages, many of
  them low-resource: Umbundu, Chokwe, Nyankore, Greenlandic, Quechua...);
- `xquad`: the Wikipedia paragraphs of `dedup/xquad_paragraphs.jsonl` (12 languages).
Each document is written once with one sentence per line and once as a single paragraph. The step runs as a user
runs it: `langid` (default detectors, nothing rejected: `on_fail: tag`) then `quality` (defaults). Reported: the share
of clean documents dropped overall, per language and per rule.

Junk, made from the same clean documents (the expected reason in brackets):
- repeated lines: one line of the document repeated to fill most of it [duplicate_lines];
- repeated paragraphs: the document written twice [duplicate_paragraphs];
- boilerplate: the menu, share and copyright lines of a web page around one sentence of the text [punctuation_endings
  or duplicate_lines];
- symbol soup: the words replaced by runs of symbols and emoji [symbol_ratio];
- digit soup: tables of numbers with a few words [digit_ratio];
- truncated fragments: every sentence cut in the middle [punctuation_endings];
- word salad: the document's word types, each once, in random order, on lines [stop_words or punctuation_endings].
Reported: the share of each kind caught, and by which reason.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from curate.core.languages import normalize_label
from curate.stages.langid import LangId
from curate.stages.quality import Quality

SHARED = ROOT.parent / "shared" / "eval"
PER_DOC = 10
SEED = 13
BOILERPLATE = [
    "Home",
    "About us",
    "Contact",
    "Login | Register",
    "Share on Facebook",
    "Tweet",
    "Menu",
    "Privacy policy",
    "Cookie settings",
    "© 2024 All rights reserved",
    "Subscribe to our newsletter",
    "Back to top",
]
SYMBOLS = "★☆♥♦♣♠•◆■□▪▲►▼◄※§¶©®™$€£¥#@%&*+=<>|~^_\\/{}[]😀😂👍🔥💯✨🎉"


def clean_documents(shared: Path) -> pl.DataFrame:
    """(corpus, lang, doc): clean documents, one sentence per line."""
    frames = []
    lid = pl.read_ndjson(shared / "lid" / "lid.jsonl", infer_schema_length=None)
    frames.append(_grouped(lid.filter(~pl.col("ambiguous").fill_null(False)), "lid", ["source", "lang"], PER_DOC))
    parallel = pl.concat(
        [
            pl.read_ndjson(p, infer_schema_length=None).select(lang="tgt_lang", text="tgt")
            for p in sorted((shared / "parallel").glob("eng-*.jsonl"))
        ]
    )
    frames.append(_grouped(parallel.with_columns(source=pl.lit("parallel")), "parallel", ["lang"], PER_DOC))
    udhr = pl.read_ndjson(shared / "dedup" / "udhr_revisions_texts.jsonl", infer_schema_length=None)
    latest = udhr.filter(pl.col("version") == pl.col("version").max().over("code", "article"))
    latest = latest.filter(pl.col("lang") != "und").sort("code", "article")
    # the UDHR files mark list items with placeholders (`&1`): lines without a letter are markup, not text
    latest = latest.with_columns(pl.col("text").str.replace_all(r"(?m)^[^\p{L}\n]*\n?", ""))
    frames.append(_grouped(latest.select("lang", "text", source="code"), "udhr", ["source", "lang"], 5))
    xquad = pl.read_ndjson(shared / "dedup" / "xquad_paragraphs.jsonl", infer_schema_length=None)
    lang_column = "lang" if "lang" in xquad.columns else "language"
    # a paragraph, one sentence per line (split after sentence-final punctuation followed by a space)
    sentences = pl.col("text").str.strip_chars().str.replace_all(r"([.!?。।؟])\s+", "$1\n")
    frames.append(xquad.select(corpus=pl.lit("xquad"), lang=pl.col(lang_column), doc=sentences))
    docs = pl.concat(frames)
    codes = {code: normalize_label(code)[0] for code in docs["lang"].unique().to_list()}
    return docs.with_columns(pl.col("lang").replace_strict(codes))


def _grouped(frame: pl.DataFrame, corpus: str, keys: list[str], size: int) -> pl.DataFrame:
    """Documents of `size` distinct sentences of one language, in a seeded random order (test sets list the variants
    of one sentence next to each other: a document of them would be repetitive, not clean)."""
    folded = pl.col("text").str.to_lowercase().str.replace_all(r"[\p{P}\s]+", " ").str.strip_chars()
    frame = frame.filter(folded.is_first_distinct().over(keys)).sample(fraction=1.0, shuffle=True, seed=SEED)
    numbered = frame.with_columns(group=pl.int_range(pl.len()).over(keys) // size)
    docs = numbered.group_by([*keys, "group"], maintain_order=True).agg(doc=pl.col("text").str.join("\n"), n=pl.len())
    return docs.filter(pl.col("n") == size).select(corpus=pl.lit(corpus), lang="lang", doc="doc")


def junk(docs: pl.DataFrame) -> pl.DataFrame:
    """(kind, lang, doc, expected): junk made from each clean document."""
    rnd = random.Random(SEED)
    rows = []
    for lang, doc in docs.select("lang", "doc").iter_rows():
        lines = [line for line in doc.split("\n") if line.strip()]
        if len(lines) < 5:
            continue
        words = doc.split()
        rows.append(("repeated lines", lang, "\n".join(lines[:2] + [lines[2]] * 8), "quality:duplicate_lines"))
        rows.append(
            (
                "repeated paragraphs",
                lang,
                "\n\n".join([" ".join(lines[:5]), " ".join(lines[5:])] * 2),
                "quality:duplicate_paragraphs",
            )
        )
        menu = rnd.sample(BOILERPLATE, 8)
        rows.append(("boilerplate", lang, "\n".join(menu[:4] + lines[:1] + menu[4:]), "quality:punctuation_endings"))
        soup = " ".join("".join(rnd.choice(SYMBOLS) for _ in range(rnd.randint(2, 6))) for _ in words[:40])
        rows.append(("symbol soup", lang, " ".join(words[:5]) + " " + soup, "quality:symbol_ratio"))
        table = "\n".join(" ".join(str(rnd.randint(0, 99999)) for _ in range(8)) for _ in range(8))
        rows.append(("digit soup", lang, " ".join(words[:4]) + "\n" + table, "quality:digit_ratio"))
        cut = [line[: max(1, len(line) * 2 // 5)].rstrip() for line in lines]
        rows.append(("truncated fragments", lang, "\n".join(cut), "quality:punctuation_endings"))
        types = list(dict.fromkeys(w.strip(".,;:!?¿¡\"'()«»“”").lower() for w in words))
        types = [t for t in types if t]
        rnd.shuffle(types)
        salad = "\n".join(" ".join(types[i : i + 8]) for i in range(0, len(types), 8))
        rows.append(("word salad", lang, salad, "quality:stop_words|quality:punctuation_endings"))
    return pl.DataFrame(rows, schema=["kind", "lang", "doc", "expected"], orient="row")


def judge(docs: pl.Series, config: dict) -> pl.DataFrame:
    """langid (tag only) then quality (tag): per document its language, score and the reasons that fire."""
    frame = pl.DataFrame({"text": docs})
    tagged = LangId.from_dict({"on_fail": "tag"}).process(frame).kept
    scored = Quality.from_dict({"action": "tag", **config}).process(tagged).kept
    return scored.select("text_lang", "text_lang_score", reasons="text_quality_flags")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--config", default="{}", help="quality step config as YAML/JSON")
    parser.add_argument("--langs", action="store_true", help="print every language, not only those with drops")
    args = parser.parse_args()
    import yaml

    config = yaml.safe_load(args.config) or {}
    docs = clean_documents(args.shared)
    both = pl.concat(
        [
            docs.with_columns(form=pl.lit("lines")),
            docs.with_columns(form=pl.lit("paragraph"), doc=pl.col("doc").str.replace_all("\n", " ")),
        ]
    )
    judged = pl.concat([both, judge(both["doc"], config)], how="horizontal")
    judged = judged.with_columns(dropped=pl.col("reasons").list.len() > 0, first=pl.col("reasons").list.first())

    pl.Config.set_tbl_rows(500)
    pl.Config.set_tbl_width_chars(200)
    pl.Config.set_tbl_hide_dataframe_shape(True)
    pl.Config.set_tbl_formatting("ASCII_MARKDOWN")
    pl.Config.set_fmt_str_lengths(80)
    n_lang = judged["lang"].n_unique()
    print(f"# quality on clean documents: {docs.height:,} documents x 2 forms, {n_lang} languages\n")
    share = (pl.col("dropped").mean() * 100).round(2)
    print(
        judged.group_by("corpus", "form")
        .agg(pl.len().alias("documents"), share.alias("dropped %"))
        .sort("corpus", "form")
    )
    overall = judged["dropped"].mean() * 100
    per_lang = judged.group_by("lang").agg(
        pl.len().alias("documents"),
        share.alias("dropped %"),
        pl.col("first").drop_nulls().mode().first().alias("main reason"),
        pl.col("text_lang").mode().first().alias("tagged"),
    )
    shown = per_lang if args.langs else per_lang.filter(pl.col("dropped %") > 0)
    print(f"\nper language ({'all' if args.langs else 'those with drops'}):")
    print(shown.sort("dropped %", descending=True))
    print("\nper rule (documents where it fires, of all clean documents):")
    print(judged.select(pl.col("reasons").explode().drop_nulls().value_counts(sort=True)).unnest("reasons"))
    worst = per_lang.sort("dropped %", descending=True).row(0, named=True)

    bad = junk(docs)
    caught = pl.concat([bad, judge(bad["doc"], config)], how="horizontal")
    expected = pl.col("expected").str.split("|")
    caught = caught.with_columns(
        caught=pl.col("reasons").list.len() > 0,
        as_expected=pl.col("reasons").list.set_intersection(expected).list.len() > 0,
    )
    print(f"\n# junk made from the same documents: {bad.height:,}")
    summary = (
        caught.group_by("kind", "expected")
        .agg(
            pl.len().alias("documents"),
            (pl.col("caught").mean() * 100).round(2).alias("caught %"),
            (pl.col("as_expected").mean() * 100).round(2).alias("with the expected reason %"),
            pl.col("reasons").list.first().drop_nulls().mode().first().alias("main reason"),
        )
        .sort("kind")
    )
    print(summary)
    junk_caught = caught["caught"].mean() * 100
    print(
        f"\ngoal: clean documents dropped <= 1% overall: {'yes' if overall <= 1 else 'NO'} ({overall:.2f}%); no "
        f"language over 5%: {'yes' if worst['dropped %'] <= 5 else 'NO'} (worst {worst['lang']} "
        f"{worst['dropped %']}%); junk caught >= 90%: {'yes' if junk_caught >= 90 else 'NO'} ({junk_caught:.1f}%, "
        f"every kind >= 90%: {'yes' if summary['caught %'].min() >= 90 else 'NO'})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
