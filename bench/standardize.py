"""How well `standardize` finds and rewrites dates and numbers on real text: XQuAD's Wikipedia paragraphs, parallel
across 12 languages (shared/eval/dedup/xquad_paragraphs.jsonl).

The same paragraph in every language states the same dates, so the English paragraph is the reference: a date
rewritten to ISO in the German paragraph that the English one also has is right (precision), an English date found
in the German paragraph too is recall. The same for numbers with a decimal part (plain form). English dates are read
with the same step; where it is wrong both sides agree by accident only rarely. `--dateparser` also scores
dateparser's `search_dates` on the same paragraphs (the library the step does not use; see the README).

    python bench/standardize.py [--dateparser] [--limit 240]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curate.stages.standardize import Standardize  # noqa: E402

XQUAD = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dedup" / "xquad_paragraphs.jsonl"
DECIMAL = re.compile(r"(?<![\d.])\d+\.\d+(?![\d.])")


def changes(frame: pl.DataFrame) -> tuple[list[set[str]], list[set[str]], float]:
    step = Standardize.from_dict({"dates": "iso", "numbers": "plain", "lang_column": "lang"})
    started = time.perf_counter()
    out = step.process(frame).kept
    seconds = time.perf_counter() - started
    dates = [{t["after"] for t in tags or [] if t["kind"] == "date"} for tags in out["text_standardized"].to_list()]
    numbers = [set(DECIMAL.findall(text)) for text in out["text"].to_list()]
    return dates, numbers, seconds


def dateparser_dates(texts: list[str], lang: str) -> tuple[list[set[str]], float]:
    from dateparser.search import search_dates

    started = time.perf_counter()
    out = []
    for text in texts:
        found = search_dates(text, languages=[lang], settings={"REQUIRE_PARTS": ["day", "month", "year"]}) or []
        out.append({d.date().isoformat() for _, d in found})
    return out, time.perf_counter() - started


def score(found: list[set[str]], reference: list[set[str]]) -> tuple[int, int, int, int]:
    """(found, of them also in the English paragraph, English items, of them found here)."""
    n_found = sum(len(f) for f in found)
    agree = sum(len(f & r) for f, r in zip(found, reference))
    n_ref = sum(len(r) for r in reference)
    return n_found, agree, n_ref, agree


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dateparser", action="store_true", help="also score dateparser.search_dates")
    parser.add_argument("--limit", type=int, default=240, help="paragraphs per language (240: all)")
    args = parser.parse_args()
    rows = [json.loads(line) for line in XQUAD.open(encoding="utf-8")]
    by_lang: dict[str, dict[str, str]] = defaultdict(dict)
    for row in rows:
        by_lang[row["lang"]][row["parallel_group"]] = row["text"]
    groups = sorted(by_lang["en"])[: args.limit]
    results = {}
    for lang in sorted(by_lang):
        frame = pl.DataFrame({"text": [by_lang[lang].get(g, "") for g in groups], "lang": [lang] * len(groups)})
        results[lang] = changes(frame) + (frame,)
    ref_dates, ref_numbers = results["en"][0], results["en"][1]
    print(f"{len(groups)} parallel paragraphs per language; reference: the English paragraph\n")
    print(
        "| language | dates rewritten | also in English | English dates found | decimal numbers as in English: "
        "before | after | ms/paragraph |"
        + (" dateparser dates | also in English | ms/paragraph |" if args.dateparser else "")
    )
    print("|---|---|---|---|---|---|---|" + ("---|---|---|" if args.dateparser else ""))
    for lang, (dates, numbers, seconds, frame) in results.items():
        d_found, d_agree, d_ref, _ = score(dates, ref_dates)
        raw = [set(DECIMAL.findall(t)) for t in frame["text"].to_list()]
        _, n_before, _, _ = score(raw, ref_numbers)
        n_found, n_agree, _, _ = score(numbers, ref_numbers)
        line = (
            f"| {lang} | {d_found} | {d_agree} ({d_agree / max(d_found, 1):.0%}) | {d_agree}/{d_ref} "
            f"({d_agree / max(d_ref, 1):.0%}) | {n_before}/{n_found} | {n_agree}/{n_found} | "
            f"{1000 * seconds / len(groups):.2f} |"
        )
        if args.dateparser:
            found, secs = dateparser_dates(frame["text"].to_list(), lang)
            p_found, p_agree, _, _ = score(found, ref_dates)
            line += f" {p_found} | {p_agree} ({p_agree / max(p_found, 1):.0%}) | {1000 * secs / len(groups):.1f} |"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
