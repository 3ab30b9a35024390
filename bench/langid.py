"""Language-ID accuracy and speed: the `langid` step against the raw lid.176 model, on the same rows in the same run.

    python bench/langid.py [--eval ../shared/eval/lid/lid.jsonl] [--repeat 10] [--langs] [--config '{...}']

Data: `shared/eval/lid/lid.jsonl` (Tatoeba test sets and lingua-py's Leipzig test sentences; see its SOURCE.md).
Scoring, the same for both: a prediction is right when it is the row's language (`lang`), its macrolanguage
(`lang_macro`: `hbs` for a Bosnian row), or a member of the row's language when that is a macrolanguage (`cmn` for a
`zho` row). Rows marked `ambiguous` are left out of the accuracy (their count is printed). The raw model's labels go
through the same label reading (`__label__sh` -> `hbs`, `__label__als` -> `gsw`) so that only the decision differs.

Speed: sentences per second over the whole set, in one batch as the engine would pass it, best of `--repeat` rounds
(raw and step take turns);
the step's figure includes everything it does per batch (cleaning, chunking, scripts, fastText, lingua on its share,
reasons). Model loading is timed apart. On a shared machine wall time depends on what else runs (the load average is
printed); sentences per CPU-second of this process (all its threads) depend much less on it and are a floor for the
wall-clock rate on an idle machine (the step never waits on I/O, and its lingua share runs on two threads). The goal
line uses the better of the two.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from curate.langid.codes import macro_of, normalize_label
from curate.langid.models import default_model_path, load_fasttext
from curate.stages.langid import LangId

DEFAULT_EVAL = ROOT.parent / "shared" / "eval" / "lid" / "lid.jsonl"
GOAL_POINTS, GOAL_SPEED = 5.0, 10_000


def is_correct(pred: pl.Expr) -> pl.Expr:
    """The scoring rule above, as an expression over the eval columns."""
    member_of_gold = pred.map_elements(macro_of, return_dtype=pl.String) == pl.col("lang")
    return (pred == pl.col("lang")) | (pred == pl.col("lang_macro")) | member_of_gold


def raw_predict(texts: list[str]) -> list[str]:
    """lid.176's top label per text, read as ISO 639-3: the baseline, as a user of the bare model gets it."""
    model = load_fasttext(str(default_model_path()))
    lines = [t.replace("\n", " ") for t in texts]
    return [normalize_label(p[0][1])[0] for p in model.predict(lines, 1)]


def timed(fns: dict, repeat: int) -> dict:
    """Per function: its result, best and median wall time, best CPU time of this process (all threads). The
    functions take turns, round after round, so that each sees the same share of whatever else the machine runs."""
    walls: dict = {name: [] for name in fns}
    cpus: dict = {name: [] for name in fns}
    results: dict = {}
    for _ in range(repeat):
        for name, fn in fns.items():
            wall, cpu = time.perf_counter(), time.process_time()
            results[name] = fn()
            walls[name].append(time.perf_counter() - wall)
            cpus[name].append(time.process_time() - cpu)
    return {name: (results[name], min(walls[name]), statistics.median(walls[name]), min(cpus[name])) for name in fns}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--langs", action="store_true", help="print every language, not only those that changed")
    parser.add_argument("--config", default="{}", help="step config as YAML/JSON, e.g. '{second_below: 0.4}'")
    args = parser.parse_args()
    if not args.eval.is_file():
        print(f"eval file not found: {args.eval}", file=sys.stderr)
        return 2
    import yaml

    data = pl.read_ndjson(args.eval, infer_schema_length=None)
    texts = data["text"].to_list()
    frame = pl.DataFrame({"_row": range(data.height), "text": data["text"]})

    start = time.perf_counter()
    step = LangId.from_dict(yaml.safe_load(args.config) or {})
    step.setup()
    load_s = time.perf_counter() - start
    raw_predict(texts[:10])  # warm both up once
    step.process(frame.head(100))

    load_before = os.getloadavg()[0]
    timings = timed({"raw": lambda: raw_predict(texts), "step": lambda: step.process(frame)}, args.repeat)
    raw, raw_best, raw_med, raw_cpu = timings["raw"]
    result, step_best, step_med, step_cpu = timings["step"]
    load_after = os.getloadavg()[0]
    tagged = pl.concat([result.kept, result.rejected.drop("_reason", "_detail", strict=False)], how="diagonal")
    tagged = tagged.sort("_row")
    assert tagged.height == data.height

    n = data.height
    scored = data.with_columns(raw=pl.Series(raw), step=tagged["text_lang"]).with_columns(
        raw_ok=is_correct(pl.col("raw")), step_ok=is_correct(pl.col("step"))
    )
    ambiguous = int(scored["ambiguous"].fill_null(False).sum())
    scored = scored.filter(~pl.col("ambiguous").fill_null(False))

    def table(by: str | None) -> pl.DataFrame:
        aggs = [pl.len().alias("rows"), (pl.col("raw_ok").mean() * 100).alias("raw %"),
                (pl.col("step_ok").mean() * 100).alias("step %")]  # fmt: skip
        out = scored.group_by(by).agg(aggs).sort(by) if by else scored.select(aggs)
        return out.with_columns((pl.col("step %") - pl.col("raw %")).alias("points")).with_columns(
            pl.col(["raw %", "step %", "points"]).round(2)
        )

    pl.Config.set_tbl_rows(400)
    pl.Config.set_tbl_hide_dataframe_shape(True)
    pl.Config.set_tbl_formatting("ASCII_MARKDOWN")
    print(f"# langid on {args.eval.name}: {n} rows, {ambiguous} ambiguous left out")
    print("right = lang, lang_macro, or a member of lang; same rule for both; raw = lid.176 top-1\n")
    overall = table(None)
    print(overall)
    print()
    per_source = table("source")
    print(per_source)
    print()
    per_lang = table("lang")
    shown = per_lang if args.langs else per_lang.filter(pl.col("points") != 0)
    print(f"per language ({'all' if args.langs else 'changed only; --langs for all'}):")
    print(shown)
    print()
    stats = result.stats
    asked = stats.get("langid:second_asked", 0)
    print("| speed | sentences/s, wall (best) | wall (median) | per CPU-second (best) | vs raw (wall) |")
    print("|---|---|---|---|---|")
    print(f"| raw lid.176 top-1 | {n / raw_best:,.0f} | {n / raw_med:,.0f} | {n / raw_cpu:,.0f} | 1.00 |")
    print(f"| langid step | {n / step_best:,.0f} | {n / step_med:,.0f} | {n / step_cpu:,.0f} | "
          f"{raw_best / step_best:.2f} |")  # fmt: skip
    print(f"\nload average (1 min) before/after timing: {load_before:.1f}/{load_after:.1f} on {os.cpu_count()} cores "
          "(other work on the machine slows both; compare the ratio)")  # fmt: skip
    print(f"model loading (once per run): {load_s:.1f} s; second detector asked on {asked} rows "
          f"({asked / n:.1%}), its answer taken on {stats.get('langid:second_taken', 0)}; "
          f"folded to a macrolanguage: {stats.get('langid:folded', 0)}; script only: "
          f"{stats.get('langid:script_only', 0)}")  # fmt: skip
    gain = overall["points"][0]
    worse = per_source.filter(pl.col("points") < 0)["source"].to_list()
    speed = max(n / step_best, n / step_cpu)
    print(f"\ngoal: >= +{GOAL_POINTS} points overall: {'yes' if gain >= GOAL_POINTS else 'NO'} ({gain:+.2f}); "
          f"no source worse: {'yes' if not worse else 'NO ' + str(worse)}; >= {GOAL_SPEED:,} sentences/s: "
          f"{'yes' if speed >= GOAL_SPEED else 'NO'} ({speed:,.0f})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
