"""Translation pairs: the `pairs` step against OpusFilter on real pairs with real kinds of noise, in the same run.

    python bench/pairs.py [--shared ../shared/eval] [--no-eflomal] [--config '{...}']

Corpus: the English->X pairs of `shared/eval/parallel` (Tatoeba test sets, 21 target languages), per language pair in
a seeded random order; half of each pair's rows stay clean and the other half is broken in one of six ways, in turn:
- misaligned: the target is the real translation of another sentence of the same language pair;
- copy: the target is the source;
- wrong language: the target is a sentence of another target language;
- truncated: the target is cut at 30-70% of its length (at a word boundary where there are spaces);
- numbers: a number of the target is changed, or one the source does not have is put in it;
- concatenated: another target sentence is added to the target.

Systems, each on the same rows:
- `curate`: the `pairs` step with its defaults (`action: tag`), the declared target languages from the data;
- `opusfilter`: OpusFilter's usual heuristics, as its documentation configures them: `LengthRatioFilter` (3, words),
  `TerminalPunctuationFilter` (-2), `NonZeroNumeralsFilter` (0.5), `LongestCommonSubstringFilter` (0.9);
- `opusfilter+langid`: those and `Cld2Filter` on both sides (its langid.py method no longer loads py3langid 0.4);
- `opusfilter+eflomal`: the heuristics and `WordAlignFilter` (eflomal word alignment trained on each language pair's
  rows). Its documented default thresholds (0) reject every pair here (eflomal's scores are positive), so each
  direction's threshold is set per language pair at the median score + 2 robust standard deviations.

Reported: per kind of noise the share caught (recall), precision and F1 over all rows, the share of clean pairs
dropped, per language pair the clean pairs dropped, and rows/s.
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

from curate.core.languages import hub_code
from curate.stages.pairs import Pairs

SHARED = ROOT.parent / "shared" / "eval"
SEED = 13
KINDS = ["misaligned", "copy", "wrong_language", "truncated", "numbers", "concatenated"]
SPACED = re.compile(r"\s")


def load_pairs(shared: Path) -> pl.DataFrame:
    frames = [
        pl.read_ndjson(p, infer_schema_length=None).select("src", "tgt", "src_lang", "tgt_lang", pair=pl.lit(p.stem))
        for p in sorted((shared / "parallel").glob("eng-*.jsonl"))
    ]
    return pl.concat(frames)


def _truncate(text: str, rnd: random.Random) -> str:
    cut = int(len(text) * rnd.uniform(0.3, 0.7))
    head = text[:cut]
    if SPACED.search(text) and " " in head:
        head = head.rsplit(" ", 1)[0]
    return head.rstrip(" ,;:") or text[:1]


def _change_numbers(text: str, rnd: random.Random) -> str:
    numbers = list(re.finditer(r"\d+", text))
    if numbers:
        m = rnd.choice(numbers)
        value = int(m.group())
        changed = str(value + rnd.randint(1, 9) * (10 ** max(0, len(m.group()) - 2)))
        return text[: m.start()] + changed + text[m.end() :]
    words = text.split(" ")
    at = rnd.randint(0, len(words))
    return " ".join(words[:at] + [str(rnd.randint(12, 2030))] + words[at:])


def noisy_corpus(pairs: pl.DataFrame) -> pl.DataFrame:
    """(pair, src, tgt, src_lang, tgt_lang, kind): half of each language pair clean, half broken (see the doc)."""
    rnd = random.Random(SEED)
    by_pair = {
        p: f.sample(fraction=1.0, shuffle=True, seed=SEED)
        for p, f in pairs.partition_by("pair", as_dict=True, include_key=True).items()
    }
    others = {p[0]: f["tgt"].to_list() for p, f in by_pair.items()}
    rows = []
    for (pair,), frame in sorted(by_pair.items()):
        targets = frame["tgt"].to_list()
        other_pairs = [p for p in others if p != pair]
        for i, row in enumerate(frame.iter_rows(named=True)):
            src, tgt = row["src"], row["tgt"]
            kind = "clean" if i % 2 == 0 else KINDS[(i // 2) % len(KINDS)]
            if kind == "misaligned":
                tgt = targets[(i + 1 + rnd.randrange(len(targets) - 2)) % len(targets)]
            elif kind == "copy":
                tgt = src
            elif kind == "wrong_language":
                tgt = rnd.choice(others[rnd.choice(other_pairs)])
            elif kind == "truncated":
                tgt = _truncate(tgt, rnd)
            elif kind == "numbers":
                tgt = _change_numbers(tgt, rnd)
            elif kind == "concatenated":
                tgt = tgt + " " + targets[(i + 1 + rnd.randrange(len(targets) - 2)) % len(targets)]
            rows.append((pair, src, tgt, row["src_lang"], row["tgt_lang"], kind))
    return pl.DataFrame(rows, schema=["pair", "src", "tgt", "src_lang", "tgt_lang", "kind"], orient="row")


def run_curate(corpus: pl.DataFrame, config: dict) -> pl.Series:
    """True where the `pairs` step flags the row."""
    step = Pairs.from_dict(
        {
            "source": "src",
            "target": "tgt",
            "source_lang": "src_lang",
            "target_lang": "tgt_lang",
            "action": "tag",
            **config,
        }
    )
    frame = (
        corpus.select("src", "tgt", "src_lang", "tgt_lang")
        .with_row_index("_id")
        .with_columns(pl.col("_id").cast(pl.String))
    )
    state = step.fit(iter([frame.select(step.fit_columns())]))
    tagged = step.apply(frame, state).kept
    flags = tagged["tgt_pair_flags"]
    return flags.list.len() > 0, flags.list.first()


def run_opusfilter(corpus: pl.DataFrame, langid: bool, eflomal: bool) -> pl.Series:
    """True where any of OpusFilter's filters rejects the row."""
    from opusfilter import filters

    chosen = [
        filters.LengthRatioFilter(threshold=3, unit="word"),
        filters.TerminalPunctuationFilter(threshold=-2),
        filters.NonZeroNumeralsFilter(threshold=0.5),
        filters.LongestCommonSubstringFilter(threshold=0.9),
    ]
    rejected = [False] * corpus.height
    index = 0
    for (_pair,), frame in corpus.partition_by("pair", as_dict=True, maintain_order=True).items():
        pairs = list(zip(frame["src"].to_list(), frame["tgt"].to_list()))
        active = list(chosen)
        if langid:
            codes = [hub_code(frame["src_lang"][0]), hub_code(frame["tgt_lang"][0])]
            active.append(filters.Cld2Filter(languages=codes))
        if eflomal:
            from opusfilter.word_alignment import WordAlignFilter

            scores = list(WordAlignFilter(src_threshold=0, tgt_threshold=0).score(pairs))
            limits = []
            for direction in (0, 1):
                values = pl.Series([s[direction] for s in scores])
                median = values.median()
                limits.append(median + 2 * 1.4826 * (values - median).abs().median())
            active.append(WordAlignFilter(src_threshold=limits[0], tgt_threshold=limits[1]))
        for f in active:
            for j, score in enumerate(f.score(pairs)):
                if not f.accept(score):
                    rejected[index + j] = True
        index += frame.height
    return pl.Series(rejected)


def report(corpus: pl.DataFrame, flagged: dict[str, pl.Series], seconds: dict[str, float]) -> None:
    broken = pl.col("kind") != "clean"
    rows = []
    for name, flags in flagged.items():
        frame = corpus.with_columns(flag=flags)
        tp = frame.filter(broken & pl.col("flag")).height
        fp = frame.filter(~broken & pl.col("flag")).height
        fn = frame.filter(broken & ~pl.col("flag")).height
        precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-9)
        per_kind = {k: round(frame.filter(pl.col("kind") == k)["flag"].mean() * 100, 1) for k in KINDS}
        clean = frame.filter(~broken)
        per_pair = clean.group_by("pair").agg(pl.col("flag").mean() * 100)
        rows.append(
            {
                "system": name,
                "precision": round(precision, 3),
                "recall": round(recall, 3),
                "F1": round(f1, 3),
                "clean dropped %": round(clean["flag"].mean() * 100, 1),
                "worst pair (clean dropped %)": " ".join(map(str, per_pair.sort("flag").row(-1))),
                **per_kind,
                "rows/s": round(corpus.height / seconds[name]),
            }
        )
    print(pl.DataFrame(rows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--config", default="{}", help="pairs step config as YAML/JSON")
    parser.add_argument("--no-opusfilter", action="store_true")
    parser.add_argument("--no-eflomal", action="store_true")
    parser.add_argument("--pairs", action="store_true", help="print the per-language-pair table")
    args = parser.parse_args()
    import yaml

    corpus = noisy_corpus(load_pairs(args.shared))
    pl.Config.set_tbl_rows(100)
    pl.Config.set_tbl_cols(30)
    pl.Config.set_tbl_width_chars(300)
    pl.Config.set_tbl_hide_dataframe_shape(True)
    pl.Config.set_tbl_formatting("ASCII_MARKDOWN")
    print(
        f"# pairs on {corpus.height:,} rows of {corpus['pair'].n_unique()} language pairs, half broken: "
        + ", ".join(f"{k} {n}" for k, n in corpus.group_by("kind").len().sort("kind").iter_rows())
        + "\n"
    )
    flagged, seconds, first = {}, {}, None
    start = time.perf_counter()
    flagged["curate"], first = run_curate(corpus, yaml.safe_load(args.config) or {})
    seconds["curate"] = time.perf_counter() - start
    if not args.no_opusfilter:
        for name, langid, eflomal in [
            ("opusfilter", False, False),
            ("opusfilter+langid", True, False),
            ("opusfilter+eflomal", False, True),
        ]:
            if eflomal and args.no_eflomal:
                continue
            start = time.perf_counter()
            flagged[name] = run_opusfilter(corpus, langid, eflomal)
            seconds[name] = time.perf_counter() - start
    report(corpus, flagged, seconds)
    reasons = corpus.with_columns(reason=first).filter(pl.col("reason").is_not_null())
    print("\ncurate's first reason per kind of noise (rows):")
    print(reasons.group_by("kind", "reason").len().sort("kind", "len", descending=[False, True]))
    if args.pairs:
        clean = corpus.with_columns(**{n: f for n, f in flagged.items()}).filter(pl.col("kind") == "clean")
        print(clean.group_by("pair").agg([(pl.col(n).mean() * 100).round(1) for n in flagged]).sort("pair"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
