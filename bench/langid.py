"""Language ID: every detector alone, and the `langid` step that combines them, on the same rows in the same run.

    python bench/langid.py [--eval ../shared/eval/lid/lid.jsonl] [--fit] [--repeat 3] [--langs]

Data: `shared/eval/lid/lid.jsonl` (Tatoeba test sets and lingua-py's Leipzig test sentences; see its SOURCE.md),
split in two halves by `xxh64(text, seed=13) % 2`. The only parameters fitted on data, each detector's calibration
(P(its answer is right) = sigmoid(a + b * signal), two numbers per detector, `curate/langid/calibration.json`), are
fitted with `--fit` on half 0, on the rows whose language the detector knows; every figure below the fit is reported
on half 1 (held out), and on all rows for reference.

Scoring, the same for every system: a prediction is right when it is the row's language (`lang`), its macrolanguage
(`lang_macro`: `hbs` for a Bosnian row), or a member of the row's language when that is a macrolanguage (`cmn` for a
`zho` row). Rows marked `ambiguous` are left out (their count is printed). A detector alone is read as its user gets
it: its top label, read as ISO 639-3 with the same label reading as the step.

Speed: sentences per second over the whole set in one batch (as the engine passes it), best of `--repeat` rounds,
each round of each system in a fresh process after a warm-up (models loaded), systems taking turns; the step's figure
includes everything it does per batch. Per CPU-second figures (all threads of
this process) are printed too: on a shared machine they depend less on what else runs.

The expect table simulates recipes that name 4 languages (60 seeded draws among the languages at least two default
detectors know): of the rows in those languages, the share lost (tagged with another language) and of 400 rows in
other languages per draw, the share taken in (tagged with an expected one), for several `expect_prior` values.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import xxhash

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from curate.core.languages import macro_of, macrolanguages
from curate.langid import detectors as det_module
from curate.langid.detectors import CALIBRATION_FILE, load_detector
from curate.langid.scripts import detect_scripts
from curate.stages.langid import LangId

DEFAULT_EVAL = ROOT.parent / "shared" / "eval" / "lid" / "lid.jsonl"
GOAL_POINTS, GOAL_SOURCE_SLACK, GOAL_SPEED = 3.0, 1.0, 10_000
OPTIONAL = {"lingua": "lingua", "heliport": "heliport"}
SPLIT_SEED = 13

# Genealogical families of the evaluation's languages (Glottolog's top-level families; Indo-European by branch), for
# the per-family report only. Languages not listed are reported as "other".
FAMILIES = {
    "Germanic": "afr dan deu eng fao fry gos gsw isl ltz nds nld nno nob nor swe yid got",
    "Romance": "arq cat cbk fra glg ita lad lat oci pms por ron spa",
    "Slavic": "bel bos bul ces hbs hrv mkd orv pol rus slk slv srp ukr",
    "Baltic": "lav lit prg",
    "Celtic": "bre cor cym gla gle",
    "Indo-Iranian": "awa ben ckb fas guj hin kmr kur mar pan pes rom urd zza",
    "Other Indo-European": "aln ell grc hye sqi",
    "Uralic": "est fin hun",
    "Turkic": "aze chv kaz ota tat tuk tur uig uzb",
    "Afro-Asiatic": "afb ara ary arz ber heb kab mlt som",
    "Niger-Congo (Bantu)": "lug run sna sot swa swh tsn tso xho zul",
    "Niger-Congo (other)": "yor",
    "Austronesian": "ceb cha dtp ilo ind jav kzj max min mri msa pam tgl war zlm zsm",
    "Sino-Tibetan": "cmn lzh mya wuu yue zho",
    "Dravidian": "mal tam tel",
    "Other Asian": "jpn kat kha khm kor mon tha vie xal hoc",
    "Constructed": "epo ido ile ina jbo lfn nov nst tlh toki tzl vol",
    "Other": "eus que hrx",
}
FAMILY_OF = {code: family for family, codes in FAMILIES.items() for code in codes.split()}


def halves(texts: pl.Series) -> np.ndarray:
    return np.fromiter(
        (xxhash.xxh64_intdigest(t.encode("utf-8", "surrogatepass"), seed=SPLIT_SEED) % 2 for t in texts),
        dtype=np.int8,
        count=len(texts),
    )


def is_correct(pred: pl.Expr) -> pl.Expr:
    """The scoring rule above, as an expression over the eval columns."""
    member_of_gold = pred.replace(macrolanguages()) == pl.col("lang")
    return ((pred == pl.col("lang")) | (pred == pl.col("lang_macro")) | member_of_gold).fill_null(False)


def available_detectors() -> list[str]:
    names = list(det_module.DEFAULT_DETECTORS)
    for name in det_module.OPTIONAL_DETECTORS:
        try:
            load_detector(name)
        except Exception as exc:  # not installed: say so and go on
            print(f"({name}: not measured: {str(exc).splitlines()[0]})")
            continue
        names.append(name)
    return names


def detector_answers(name: str, texts: list[str]) -> tuple[list[str], np.ndarray]:
    """A detector's top language per text (`und` where it says nothing) and its signal."""
    detection = load_detector(name).detect(texts)
    top = detection.candidates.filter(pl.col("rank") == 0).select("unit", "code")
    every = pl.DataFrame({"unit": pl.int_range(len(texts), dtype=pl.UInt32, eager=True)})
    answers = every.join(top, on="unit", how="left")["code"].fill_null("und").to_list()
    return answers, detection.signal.to_numpy()


def fit_logistic(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood (a, b) of P(y) = sigmoid(a + b x), by Newton's method on the standardised signal."""
    mean, std = float(x.mean()), float(x.std()) or 1.0
    z = (x - mean) / std
    a, b = fit_standardised(z, y)
    return a - b * mean / std, b / std


def fit_standardised(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    a, b = 0.0, 0.0
    for _ in range(100):
        p = 1 / (1 + np.exp(-(a + b * x)))
        w = np.clip(p * (1 - p), 1e-9, None)
        grad = np.array([np.sum(y - p), np.sum((y - p) * x)])
        grad -= 1e-3 * np.array([a, b])  # a whisper of ridge: finite even where the data separate perfectly
        hess = np.array([[np.sum(w), np.sum(w * x)], [np.sum(w * x), np.sum(w * x * x)]]) + 1e-3 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        a, b = a + step[0], b + step[1]
        if np.abs(step).max() < 1e-8:
            break
    return float(a), float(b)


def fit_calibrations(data: pl.DataFrame, names: list[str]) -> dict:
    """Each detector's (a, b) on half 0, on rows whose language (as a macrolanguage family) the detector knows."""
    fit = data.filter((pl.col("half") == 0) & ~pl.col("ambiguous"))
    texts, _ = inputs(fit)
    table = macrolanguages()
    out = {}
    for name in names:
        detector = load_detector(name)
        families = {table.get(c, c) for c in detector.languages}
        answers, signal = detector_answers(name, texts)
        frame = fit.select("lang", "lang_macro").with_columns(pred=pl.Series(answers), signal=pl.Series(signal))
        frame = frame.with_columns(ok=is_correct(pl.col("pred")))
        frame = frame.filter(pl.col("lang").replace(table).is_in(sorted(families)) & pl.col("signal").is_finite())
        a, b = fit_logistic(frame["signal"].to_numpy(), frame["ok"].cast(pl.Float64).to_numpy())
        key = detector.calibration_key
        out[key] = {"a": round(a, 4), "b": round(b, 4), "rows": frame.height}
        print(
            f"calibration {key}: a={a:.3f} b={b:.3f} on {frame.height} rows (accuracy there {frame['ok'].mean():.3f})"
        )
    return out


def system_fns(names: list[str], texts: list[str], frame: pl.DataFrame) -> dict[str, Callable[[int], list[str]]]:
    """Every system measured, as a function of how many rows it reads: each detector alone, the step, the step with
    each optional detector, and fastText+CLD2 alone."""
    combos: dict[str, dict] = {"step": {}}
    optional = [n for n in names if n in det_module.OPTIONAL_DETECTORS]
    for name in optional:
        combos[f"step+{name}"] = {"detectors": [*det_module.DEFAULT_DETECTORS, name]}
    if len(optional) > 1:
        combos["step+" + "+".join(optional)] = {"detectors": [*det_module.DEFAULT_DETECTORS, *optional]}
    combos["fasttext+cld2"] = {"detectors": ["fasttext", "cld2"]}
    fns: dict[str, Callable[[int], list[str]]] = {
        name: (lambda rows, n=name: detector_answers(n, texts[:rows])[0]) for name in names
    }
    fns.update({name: (lambda rows, c=config: step_tags(c, frame.head(rows))) for name, config in combos.items()})
    return fns


def time_system(fn: Callable[[int], list[str]], rows: int, repeat: int) -> dict:
    """Wall and CPU seconds of `repeat` runs over `rows` rows, after a warm-up (models loaded, caches filled)."""
    fn(50)
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn(rows)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {"walls": walls, "cpus": cpus}


def timed_apart(
    systems: list[str], detectors: list[str], eval_path: Path, repeat: int
) -> dict[str, tuple[float, float, float]]:
    """Per system: best and median wall time and best CPU time, each measured in a fresh process of its own, as a
    user runs it (in one process, the answers of the systems before it slow the next one down: more objects for the
    garbage collector, a fragmented heap). The processes take turns, round after round."""
    runs: dict[str, dict[str, list[float]]] = {s: {"walls": [], "cpus": []} for s in systems}
    for _ in range(repeat):
        for system in systems:
            command = [sys.executable, __file__, "--eval", str(eval_path), "--repeat", "1"]
            command += ["--time-system", system, "--detectors", ",".join(detectors)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            runs[system]["walls"] += result["walls"]
            runs[system]["cpus"] += result["cpus"]
    return {s: (min(r["walls"]), statistics.median(r["walls"]), min(r["cpus"])) for s, r in runs.items()}


def inputs(data: pl.DataFrame) -> tuple[list[str], pl.DataFrame]:
    """What the detectors read (one line per text) and what the step reads (the frame, `_row` first)."""
    texts = [t.replace("\n", " ") for t in data["text"].to_list()]
    return texts, data.select(pl.int_range(pl.len()).alias("_row"), "text")


def step_tags(config: dict, frame: pl.DataFrame) -> list[str]:
    step = LangId.from_dict(config)
    result = step.process(frame)
    tagged = pl.concat([result.kept, result.rejected.drop("_reason", "_detail", strict=False)], how="diagonal")
    return tagged.sort("_row")["text_lang"].to_list()


def accuracy_tables(scored: pl.DataFrame, systems: list[str]) -> dict[str, pl.DataFrame]:
    aggs = [pl.len().alias("rows")] + [(pl.col(f"{s}_ok").mean() * 100).round(2).alias(s) for s in systems]
    held = scored.filter(pl.col("half") == 1)
    return {
        "held-out half": held.select(aggs),
        "all rows": scored.select(aggs),
        "held-out half, per source": held.group_by("source").agg(aggs).sort("source"),
        "held-out half, per script": held.group_by("script").agg(aggs).sort("rows", descending=True),
        "held-out half, per language family": held.group_by("family").agg(aggs).sort("rows", descending=True),
        "all rows, per language": scored.group_by("lang").agg(aggs).sort("lang"),
    }


def expect_simulation(data: pl.DataFrame, config: dict, priors: list[float]) -> pl.DataFrame:
    """Lost and taken-in shares under `expect` (see the module doc), on the held-out half."""
    held = data.filter((pl.col("half") == 1) & ~pl.col("ambiguous")).with_columns(
        family=pl.col("lang").replace(macrolanguages())
    )
    known = {n: {macro_of(c) for c in load_detector(n).languages} for n in det_module.DEFAULT_DETECTORS}
    langs = sorted(f for f in held["family"].unique().to_list() if sum(f in k for k in known.values()) >= 2)
    rows = []
    for prior in priors:
        lost = total_in = taken = total_out = 0
        for seed in range(60):
            expected = random.Random(seed).sample(langs, 4)
            inside = held.filter(pl.col("family").is_in(expected))
            outside = held.filter(~pl.col("family").is_in(expected))
            outside = outside.sample(min(400, outside.height), seed=seed)
            frame = pl.concat([inside, outside]).select(pl.int_range(pl.len()).alias("_row"), "text", "family")
            tags = pl.Series(
                step_tags(
                    {**config, "expect": expected, "expect_prior": prior, "on_fail": "tag"},
                    frame.select("_row", "text"),
                )
            ).replace(macrolanguages())
            in_expected = tags.is_in(expected)
            n_in = inside.height
            lost += int((~in_expected[:n_in]).sum())
            total_in += n_in
            taken += int(in_expected[n_in:].sum())
            total_out += frame.height - n_in
        rows.append(
            {
                "expect_prior": prior,
                "lost % (rows of expected languages)": round(100 * lost / total_in, 2),
                "taken in % (rows of other languages)": round(100 * taken / total_out, 2),
            }
        )
    return pl.DataFrame(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL)
    parser.add_argument("--fit", action="store_true", help="fit the calibrations on half 0 and write them first")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--langs", action="store_true", help="print the per-language table")
    parser.add_argument("--no-expect", action="store_true", help="skip the expect simulation (slow)")
    parser.add_argument("--time-system", help=argparse.SUPPRESS)
    parser.add_argument("--detectors", help=argparse.SUPPRESS)  # a worker's: the detectors the parent found
    args = parser.parse_args()
    if not args.eval.is_file():
        print(f"eval file not found: {args.eval}", file=sys.stderr)
        return 2
    data = pl.read_ndjson(args.eval, infer_schema_length=None)
    if args.time_system:  # a worker of `timed_apart`: one system, in this fresh process, loading only its models
        fns = system_fns(args.detectors.split(","), *inputs(data))
        print(json.dumps(time_system(fns[args.time_system], data.height, args.repeat)))
        return 0
    data = data.with_columns(
        half=pl.Series(halves(data["text"])),
        ambiguous=pl.col("ambiguous").fill_null(False),
        script=detect_scripts(data["text"])["script"].fill_null("none"),
        family=pl.col("lang").replace_strict(FAMILY_OF, default="other"),
    )
    names = available_detectors()
    if args.fit:
        fitted = fit_calibrations(data, names)
        document = {
            "about": "P(a detector's answer is right) = sigmoid(a + b * signal); fitted by `python bench/langid.py "
            f"--fit` on half 0 of shared/eval/lid/lid.jsonl (xxh64(text, seed={SPLIT_SEED}) % 2 == 0), on "
            "the rows whose language the detector knows. Signals: fastText, langid.py and lingua: log-odds "
            "of the top probability; CLD2: log of its normalised score; heliport: gap between its best two "
            "scores.",
            "detectors": fitted,
        }
        CALIBRATION_FILE.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
        det_module.calibrations.cache_clear()
        print(f"wrote {CALIBRATION_FILE.relative_to(ROOT)}\n")

    fns = system_fns(names, *inputs(data))
    answers = {name: fn(data.height) for name, fn in fns.items()}
    load_before = os.getloadavg()[0]
    timings = timed_apart(list(fns), names, args.eval, args.repeat)
    load_after = os.getloadavg()[0]

    systems = list(fns)
    scored = data.with_columns([pl.Series(f"{s}_pred", answers[s]) for s in systems])
    scored = scored.with_columns([is_correct(pl.col(f"{s}_pred")).alias(f"{s}_ok") for s in systems])
    ambiguous = int(scored["ambiguous"].sum())
    scored = scored.filter(~pl.col("ambiguous"))

    pl.Config.set_tbl_rows(400)
    pl.Config.set_tbl_cols(40)
    pl.Config.set_tbl_width_chars(400)
    pl.Config.set_tbl_hide_dataframe_shape(True)
    pl.Config.set_tbl_formatting("ASCII_MARKDOWN")
    print(
        f"# langid on {args.eval.name}: {data.height} rows, {ambiguous} ambiguous left out; held-out half: "
        f"{scored.filter(pl.col('half') == 1).height} rows. Accuracy in %.\n"
    )
    tables = accuracy_tables(scored, systems)
    for title, table in tables.items():
        if title.endswith("per language") and not args.langs:
            continue
        print(f"{title}:\n{table}\n")

    n = data.height
    print("| speed | sentences/s, wall (best) | wall (median) | per CPU-second (best) |")
    print("|---|---|---|---|")
    for s in systems:
        best, median, cpu = timings[s]
        print(f"| {s} | {n / best:,.0f} | {n / median:,.0f} | {n / cpu:,.0f} |")
    print(f"\nload average (1 min) before/after timing: {load_before:.1f}/{load_after:.1f} on {os.cpu_count()} cores")

    held, per_source = tables["held-out half"], tables["held-out half, per source"]
    singles = [s for s in names]
    best_single = max(singles, key=lambda s: held[s][0])
    gain = held["step"][0] - held[best_single][0]
    worse = [
        src
        for src, step, top in zip(
            per_source["source"], per_source["step"], per_source.select(pl.max_horizontal(singles)).to_series()
        )
        if step < top - GOAL_SOURCE_SLACK
    ]
    best, _, cpu = timings["step"]
    speed = max(n / best, n / cpu)
    print(
        f"\ngoal (held-out half): step >= best single detector ({best_single}, {held[best_single][0]:.2f}) "
        f"+ {GOAL_POINTS}: {'yes' if gain >= GOAL_POINTS else 'NO'} ({gain:+.2f}); no source more than "
        f"{GOAL_SOURCE_SLACK} point under the best single detector there: {'yes' if not worse else 'NO ' + str(worse)}"
        f"; >= {GOAL_SPEED:,} sentences/s: {'yes' if speed >= GOAL_SPEED else 'NO'} ({speed:,.0f})"
    )

    if not args.no_expect:
        print("\nexpect (held-out half, default detectors):")
        print(expect_simulation(data, {}, [0.0, 0.5, 0.9, 0.99]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
