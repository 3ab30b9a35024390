#!/usr/bin/env python3
"""Benchmark of the `dedup` step: quality on real revisions and planted edits; speed and memory of a whole `curate run`
against plain datasketch and rensa loops.

    python bench/dedup.py                                 # everything: quality, speed at 150k and 1M documents
    python bench/dedup.py --quality                       # only the quality figures (a minute)
    python bench/dedup.py --speed --sizes 150000 --rounds 3

Quality
  * UDHR revisions (`../shared/eval/dedup/udhr_revisions_*.jsonl`): real consecutive revisions of the same article
    (label 1) and hard negatives (label 0). Recall = share of label-1 pairs with char-5-gram Jaccard >= 0.8 that end
    in one cluster; negatives merged = label-0 pairs that end in one cluster (must be 0). Char 5-gram shingles.
  * XQuAD planted edits (`xquad_paragraphs.jsonl`): every paragraph plus edited copies (words or characters
    replaced, deleted, inserted, sentences swapped, at rates from 0.5% to 40%); the ground truth is the exact Jaccard
    similarity of the same shingle sets, computed with Python sets. A pair is a true duplicate when the exact-Jaccard
    graph (edges >= threshold) connects them; F1 over all pairs that either side puts in one cluster.
Speed and memory
  * Synthetic corpus from the XQuAD paragraphs of all 12 languages: each document is 3-8 random sentences of one
    language; 5% are exact copies of an earlier document (case and spacing changed), 15% near copies (words or
    characters edited at 0.5-5%, or two sentences swapped). Written to parquet parts of 50,000 rows.
  * Three contenders, each a whole process over the same parquet parts (start-up and reading included), taking turns
    in every round so that the machine's load hits them alike; the best round of each counts. Wall and CPU seconds
    and peak RSS come from `wait4` on the process.
  * curate: `curate run` on a recipe of one `dedup: {method: minhash, threshold: T}` step (exact verification),
    writing the shards and the rejects.
  * The loops: what a user writes with the library: per document, word 5-grams (character 5-grams for text mostly
    in scripts without spaces) of the text normalised as the step does, in the fastest plain Python we know; one
    datasketch `MinHash` (`update_batch`, permutations shared) or rensa `RMinHash`; the LSH `query`, and `insert`
    when nothing matched. Their CPU seconds in shingling and in MinHash + LSH are printed apart.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curate.dedup.shingles import casefold, no_space_script, normalized, shingles
from curate.stages.dedup import Dedup

EVAL = ROOT.parent / "shared" / "eval" / "dedup"
PART_ROWS = 50_000
SENTENCE_END = re.compile(r"(?<=[.!?。！？؟।])\s*")
NO_SPACE_LANGS = {"zh", "th"}
NUM_PERM, NGRAM = 128, 5


# corpus ------------------------------------------------------------------------------------------------------------
def sentence_pools(xquad: Path) -> dict[str, list[str]]:
    """Sentences of each language (Thai, written without sentence punctuation, splits at spaces)."""
    frame = pl.read_ndjson(xquad)
    pools: dict[str, list[str]] = {}
    for lang, text in frame.select("lang", pl.col("text").str.strip_chars(" \ufeff")).iter_rows():
        parts = text.split(" ") if lang == "th" else SENTENCE_END.split(text)
        pools.setdefault(lang, []).extend(p.strip() for p in parts if len(p.strip()) > 3)
    return pools


def edit(text: str, rate: float, rng: np.random.Generator, char_level: bool) -> str:
    """Replace, delete or insert tokens (words, or characters for Chinese and Thai) at `rate`."""
    tokens = list(text) if char_level else text.split(" ")
    n = max(1, round(rate * len(tokens)))
    for _ in range(n):
        if not tokens:
            break
        i = int(rng.integers(len(tokens)))
        kind = rng.random()
        if kind < 0.5:
            tokens[i] = tokens[int(rng.integers(len(tokens)))]
        elif kind < 0.75:
            del tokens[i]
        else:
            tokens.insert(i, tokens[int(rng.integers(len(tokens)))])
    return ("" if char_level else " ").join(tokens)


def make_corpus(n: int, out: Path, xquad: Path, seed: int = 7) -> list[Path]:
    """Write the speed corpus of `n` documents as parquet parts (cached: reused when present)."""
    parts = [out / f"part-{i:05d}.parquet" for i in range((n + PART_ROWS - 1) // PART_ROWS)]
    if all(p.exists() for p in parts) and (out / "DONE").exists():
        return parts
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pools = sentence_pools(xquad)
    langs = sorted(pools)
    recent: list[tuple[str, str]] = []  # (lang, text) of the last documents, sources of copies
    for index, path in enumerate(parts):
        ids, texts = [], []
        for i in range(index * PART_ROWS, min(n, (index + 1) * PART_ROWS)):
            r = rng.random()
            if recent and r < 0.05:
                lang, text = recent[int(rng.integers(len(recent)))]
                text = text.upper() if rng.random() < 0.3 else "  " + text.replace(" ", "  ", 3)
            elif recent and r < 0.20:
                lang, text = recent[int(rng.integers(len(recent)))]
                if rng.random() < 0.3 and lang not in NO_SPACE_LANGS:
                    sentences = SENTENCE_END.split(text)
                    if len(sentences) > 2:
                        a, b = rng.choice(len(sentences), 2, replace=False)
                        sentences[a], sentences[b] = sentences[b], sentences[a]
                    text = " ".join(sentences)
                else:
                    text = edit(text, float(rng.uniform(0.005, 0.05)), rng, lang in NO_SPACE_LANGS)
            else:
                lang = langs[int(rng.integers(len(langs)))]
                pool = pools[lang]
                picks = rng.integers(len(pool), size=int(rng.integers(3, 9)))
                text = ("" if lang == "zh" else " ").join(pool[j] for j in picks)
            recent.append((lang, text))
            if len(recent) > 100_000:
                recent = recent[-50_000:]
            ids.append(f"d{i:08d}")
            texts.append(text)
        pl.DataFrame({"_id": ids, "text": texts}).write_parquet(path)
    (out / "DONE").write_text(str(n))
    return parts


# speed: whole processes, taking turns -----------------------------------------------------------------------------
RECIPE = """name: bench-dedup
seed: 13
sources:
  - path: {corpus}/part-*.parquet
steps:
  - dedup: {{method: minhash, field: text, threshold: {threshold}}}
output:
  dir: {out}
  splits: {{train: 1.0}}
"""


def run_process(command: list[str], cwd: Path | None = None) -> dict:
    """Wall seconds, CPU seconds and peak RSS of one child process (and its children) alone, from wait4."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} failed:\n{stderr[-4000:]}")
    return {
        "seconds": seconds,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
        "stdout": stdout,
    }


def run_curate(corpus: Path, threshold: float, work: Path) -> dict:
    """`curate run` on a recipe of one dedup step over the corpus: read, dedup (fit and apply), write shards."""
    out = work / "out"
    recipe = work / "bench-dedup.yaml"
    recipe.write_text(RECIPE.format(corpus=corpus, threshold=threshold, out=out), encoding="utf-8")
    r = run_process([sys.executable, "-m", "curate", "run", str(recipe), "--fresh", "--quiet"], cwd=ROOT)
    manifest = json.loads((out / "manifest.json").read_text())
    step = next(s for s in manifest["steps"] if s["name"] == "dedup")
    shutil.rmtree(out)
    return {
        **r,
        "docs": manifest["accounting"]["rows_read"],
        "dropped": manifest["accounting"]["rows_rejected"],
        "stats": step.get("stats", {}),
    }


def run_loop(kind: str, corpus: Path, threshold: float, bands: int) -> dict:
    payload = json.dumps({"kind": kind, "corpus": str(corpus), "threshold": threshold, "bands": bands})
    r = run_process([sys.executable, __file__, "--worker", payload])
    return {**r, **json.loads(r["stdout"].strip().splitlines()[-1])}


def loop_worker(args: dict) -> dict:
    """The plain loop a user writes with the library: per document, shingles in Python (the step's normalisation and
    shingling), one MinHash, an LSH query, and an insert when nothing matched."""
    parts = sorted(Path(args["corpus"]).glob("part-*.parquet"))
    python_normalize("")  # the translation table is built once, like any module-level table
    if args["kind"] == "datasketch":
        from datasketch import MinHash, MinHashLSH

        template = MinHash(num_perm=NUM_PERM, seed=1)
        lsh = MinHashLSH(threshold=args["threshold"], num_perm=NUM_PERM)

        def sketch(shingles: list[str]):
            m = MinHash(num_perm=NUM_PERM, seed=1, permutations=template.permutations, scheme=template.scheme)
            m.update_batch([s.encode("utf-8") for s in shingles])
            return m
    else:
        from rensa import RMinHash, RMinHashLSH

        lsh = RMinHashLSH(threshold=args["threshold"], num_perm=NUM_PERM, num_bands=args["bands"])

        def sketch(shingles: list[str]):
            m = RMinHash(num_perm=NUM_PERM, seed=1)
            m.update(shingles)
            return m

    docs = dropped = 0
    shingling = hashing = 0.0
    for part in parts:
        for key, text in pl.read_parquet(part, columns=["_id", "text"]).iter_rows():
            t0 = time.process_time()
            shingles = baseline_shingles(text, NGRAM)
            t1 = time.process_time()
            m = sketch(shingles)
            if lsh.query(m):
                dropped += 1
            else:
                lsh.insert(key if args["kind"] == "datasketch" else docs, m)
            hashing += time.process_time() - t1
            shingling += t1 - t0
            docs += 1
    return {"docs": docs, "dropped": dropped, "shingling_cpu_s": shingling, "minhash_lsh_cpu_s": hashing}


_PUNCT_TABLE: dict[int, str] | None = None
_NO_SPACE = re.compile(
    r"[\u2e80-\u2fdf\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0eff\u1000-\u109f"
    r"\u1780-\u17ff\u0f00-\u0fff]"
)
_LETTER = re.compile(r"[^\W\d_]")


def python_normalize(text: str) -> str:
    """The step's normalisation in plain Python: lowercase, punctuation and symbols to spaces, whitespace folded."""
    global _PUNCT_TABLE
    if _PUNCT_TABLE is None:
        import unicodedata

        _PUNCT_TABLE = {c: " " for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c))[0] in "PS"}
    return " ".join(text.lower().translate(_PUNCT_TABLE).split())


def baseline_shingles(text: str, ngram: int) -> list[str]:
    """Word n-grams, or character n-grams for a text mostly in scripts without spaces: the fastest plain Python we
    know for it (the str methods run in C; n-grams by zipping shifted lists)."""
    text = python_normalize(text)
    if _NO_SPACE.search(text):
        no_space = len(_NO_SPACE.findall(text))
        if 2 * no_space >= len(_LETTER.findall(text)):
            if len(text) < ngram:
                return [text] if text else []
            return [text[i : i + ngram] for i in range(len(text) - ngram + 1)]
    words = text.split()
    if len(words) < ngram:
        return [" ".join(words)] if words else []
    return list(map(" ".join, zip(*(words[i:] for i in range(ngram)))))


# quality -----------------------------------------------------------------------------------------------------------
def clusters_of(frame: pl.DataFrame, config: dict, batch: int = 500) -> dict[str, str]:
    step = Dedup.from_dict({**config, "action": "tag"})
    batches = [frame.slice(i, batch) for i in range(0, frame.height, batch)]
    state = step.fit(iter(batches))
    tagged = pl.concat([step.apply(b, state).kept for b in batches])
    return dict(zip(tagged["_id"].to_list(), tagged["dup_cluster"].to_list()))


def udhr_quality(config: dict) -> dict:
    texts = pl.read_ndjson(EVAL / "udhr_revisions_texts.jsonl").rename({"id": "_id"}).select("_id", "text")
    pairs = pl.read_ndjson(EVAL / "udhr_revisions_pairs.jsonl")
    cluster = clusters_of(texts, config)
    same = np.array([cluster[a] == cluster[b] for a, b in pairs.select("a", "b").iter_rows()])
    positive = (pairs["label"] == 1).to_numpy() & (pairs["jaccard_char5"] >= 0.8).to_numpy()
    negative = (pairs["label"] == 0).to_numpy()
    merged_pos, merged_neg = int(same[(pairs["label"] == 1).to_numpy()].sum()), int(same[negative].sum())
    return {
        "recall": same[positive].mean(),
        "positives": int(positive.sum()),
        "negatives_merged": merged_neg,
        "negatives": int(negative.sum()),
        "precision": merged_pos / max(1, merged_pos + merged_neg),
    }


def planted_corpus(seed: int = 11) -> pl.DataFrame:
    """Every XQuAD paragraph plus 0-3 edited copies of it, at edit rates from 0.5% to 40%; `family` = source."""
    rng = np.random.default_rng(seed)
    frame = pl.read_ndjson(EVAL / "xquad_paragraphs.jsonl")
    rates = [0.005, 0.01, 0.02, 0.04, 0.07, 0.1, 0.2, 0.4]
    rows = []
    for pid, lang, text in frame.select("id", "lang", pl.col("text").str.strip_chars(" \ufeff")).iter_rows():
        rows.append((pid, pid, text))
        for k in range(int(rng.integers(0, 4))):
            if rng.random() < 0.2 and lang not in NO_SPACE_LANGS:
                sentences = SENTENCE_END.split(text)
                rng.shuffle(sentences)
                variant = " ".join(sentences)
            else:
                variant = edit(text, float(rng.choice(rates)), rng, lang in NO_SPACE_LANGS)
            rows.append((f"{pid}:v{k}", pid, variant))
    return pl.DataFrame(rows, schema=["_id", "family", "text"], orient="row")


def planted_quality(corpus: pl.DataFrame, config: dict) -> dict:
    t = config.get("threshold", 0.8)
    ngram, tokenize = config.get("ngram", 5), config.get("tokenize", "auto")
    ids = corpus["_id"].to_list()
    # the ground truth: exact Jaccard of the shingle sets, from the normalised strings, with Python sets
    lowered = pl.Series("text", [casefold(t) for t in corpus["text"].to_list()])
    compared = lowered.to_frame().select(normalized(pl.col("text"), False, True, True))["text"]
    modes = no_space_script(compared) if tokenize == "auto" else np.full(len(ids), tokenize == "char")
    sets = [set(shingles(text, "char" if m else "word", ngram)) for text, m in zip(compared.to_list(), modes)]

    def jac(i: int, j: int) -> float:
        a, b = sets[i], sets[j]
        return len(a & b) / len(a | b) if a or b else 1.0

    index = {k: i for i, k in enumerate(ids)}
    families = corpus.with_row_index("i").group_by("family").agg("i")["i"].to_list()
    # ground truth: components of the exact-Jaccard graph within each family (paragraphs of different families
    # are different texts; predicted cross-family pairs are checked below)
    truth_label = np.arange(len(ids))
    sims = []
    for members in families:
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                s = jac(members[x], members[y])
                sims.append(s)
                if s >= t:
                    a, b = truth_label[members[x]], truth_label[members[y]]
                    truth_label[truth_label == max(a, b)] = min(a, b)
    cluster = clusters_of(corpus.select("_id", "text"), config)
    predicted = np.array([index[cluster[k]] for k in ids])

    def pairs(labels: np.ndarray) -> set[tuple[int, int]]:
        out = set()
        for lab in np.unique(labels):
            members = np.flatnonzero(labels == lab)
            out |= {(int(a), int(b)) for x, a in enumerate(members) for b in members[x + 1 :]}
        return out

    truth, pred = pairs(truth_label), pairs(predicted)
    tp = len(truth & pred)
    precision = tp / len(pred) if pred else 1.0
    recall = tp / len(truth) if truth else 1.0
    sims = np.array(sims)
    return {
        "docs": len(ids),
        "true_pairs": len(truth),
        "predicted_pairs": len(pred),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if tp else 0.0,
        "pairs_near_threshold": int(((sims >= t - 0.05) & (sims < t + 0.05)).sum()),
        "family_pairs": len(sims),
    }


# main --------------------------------------------------------------------------------------------------------------
def quality(threshold: float) -> None:
    print("\n## Quality\n")
    print("| data | shingles | threshold | verify | recall | precision | F1 | notes |")
    print("|---|---|---:|---|---:|---:|---:|---|")
    for t, verify in ((threshold, "exact"), (threshold, "estimate"), (threshold, "none"), (0.7, "exact")):
        q = udhr_quality({"tokenize": "char", "ngram": 5, "threshold": t, "verify": verify})
        print(
            f"| UDHR revisions | char 5 | {t} | {verify} | {q['recall']:.4f} | {q['precision']:.4f} | | "
            f"{q['negatives_merged']} of "
            f"{q['negatives']} hard negatives merged; recall over the {q['positives']} label-1 pairs with J >= 0.8 |",
            flush=True,
        )
    corpus = planted_corpus()
    for tokenize, t, verify in (
        ("auto", threshold, "exact"),
        ("auto", threshold, "estimate"),
        ("auto", threshold, "none"),
        ("char", threshold, "exact"),
        ("auto", 0.7, "exact"),
    ):
        q = planted_quality(corpus, {"threshold": t, "tokenize": tokenize, "verify": verify})
        shingle = "auto 5 (words; chars for zh, th)" if tokenize == "auto" else f"{tokenize} 5"
        print(
            f"| XQuAD planted edits | {shingle} | {t} | {verify} | {q['recall']:.4f} | {q['precision']:.4f} | "
            f"{q['f1']:.4f} | {q['docs']} docs, {q['true_pairs']} true pairs; {q['pairs_near_threshold']} of "
            f"{q['family_pairs']} same-source pairs within ±0.05 of t |",
            flush=True,
        )


CONTENDERS = ("curate", "rensa", "datasketch")


def speed(
    sizes: list[int], rounds: int, threshold: float, cache: Path, xquad: Path, contenders: tuple[str, ...] = CONTENDERS
) -> None:
    bands = Dedup.from_dict({"threshold": threshold}).lsh_params()[0]
    print(
        f"\n## Speed and memory (minhash, threshold {threshold}, num_perm {NUM_PERM}, {NGRAM}-gram shingles, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start)\n"
    )
    print(
        "Whole processes (start-up, reading, every step, writing), taking turns; best of "
        f"{rounds} round(s) by wall time. datasketch {_version('datasketch')}, rensa {_version('rensa')} "
        f"(RMinHashLSH with {bands} bands, as the step uses).\n"
    )
    per_size: dict[int, dict] = {}
    print("| docs | what | wall s | docs/s | CPU s | docs/CPU-s | peak RSS (MB) | dropped | notes |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---|")
    for n in sizes:
        corpus = cache / f"corpus-{n}"
        make_corpus(n, corpus, xquad)
        best: dict[str, dict] = {}
        with tempfile.TemporaryDirectory(prefix="bench-dedup-", dir=cache) as tmp:
            for round_ in range(rounds):
                for kind in contenders:
                    r = (
                        run_curate(corpus, threshold, Path(tmp))
                        if kind == "curate"
                        else run_loop(kind, corpus, threshold, bands)
                    )
                    print(
                        f"round {round_ + 1}, {kind}: {r['seconds']:.1f} s, {r['cpu_s']:.1f} CPU s",
                        file=sys.stderr,
                        flush=True,
                    )
                    if kind not in best or r["seconds"] < best[kind]["seconds"]:
                        best[kind] = r
        for kind in [k for k in ("datasketch", "rensa", "curate") if k in best]:
            r = best[kind]
            if kind == "curate":
                stats = r["stats"]
                notes = (
                    f"`curate run` (one dedup step, exact verification): {stats.get('candidate_pairs', 0):,} pairs "
                    f"verified, {stats.get('verified_pairs', 0):,} passed"
                )
            else:
                notes = (
                    f"CPU in Python shingling {r['shingling_cpu_s']:.1f} s, in MinHash and LSH "
                    f"{r['minhash_lsh_cpu_s']:.1f} s ({r['docs'] / r['minhash_lsh_cpu_s']:,.0f} docs/CPU-s)"
                )
            label = {"curate": "**curate**", "datasketch": "datasketch loop", "rensa": "rensa loop"}[kind]
            print(f"| {n:,} | {label} | {_figures(r)} | {r['dropped']:,} | {notes} |", flush=True)
        for kind in [k for k in ("datasketch", "rensa") if k in best and "curate" in best]:
            c, b = best["curate"], best[kind]
            print(
                f"\ncurate / {kind} loop at {n:,} docs: {b['seconds'] / c['seconds']:.1f}x in wall time, "
                f"{b['cpu_s'] / c['cpu_s']:.1f}x in CPU time",
                flush=True,
            )
        if "curate" in best:
            per_size[n] = best["curate"]
        print()
    if len(per_size) > 1:
        first, last = min(per_size), max(per_size)
        a, b = per_size[first], per_size[last]
        print(
            f"curate at {last:,} docs / at {first:,}: {b['docs'] / b['seconds'] / (a['docs'] / a['seconds']):.2f}x "
            f"docs/s in wall time, {b['docs'] / b['cpu_s'] / (a['docs'] / a['cpu_s']):.2f}x per CPU-second "
            f"(load average {os.getloadavg()[0]:.1f} at the end)"
        )


def _figures(r: dict) -> str:
    return (
        f"{r['seconds']:.1f} | {r['docs'] / r['seconds']:,.0f} | {r['cpu_s']:.1f} | {r['docs'] / r['cpu_s']:,.0f} | "
        f"{r['rss_mb']:,.0f}"
    )


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--quality", action="store_true", help="only the quality figures")
    parser.add_argument("--speed", action="store_true", help="only the speed and memory figures")
    parser.add_argument("--sizes", default="150000,1000000", help="corpus sizes for speed and memory")
    parser.add_argument("--rounds", type=int, default=3, help="turns each contender takes per size (best one counts)")
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument(
        "--contenders", default=",".join(CONTENDERS), help="which of curate, rensa, datasketch run (comma-separated)"
    )
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "curate-bench-dedup")
    parser.add_argument("--xquad", type=Path, default=EVAL / "xquad_paragraphs.jsonl")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(loop_worker(json.loads(args.worker))))
        return
    if not args.xquad.exists():
        raise SystemExit(f"{args.xquad} not found: the benchmark needs ../shared/eval/dedup (see its SOURCE.md)")
    contenders = tuple(c.strip() for c in args.contenders.split(","))
    unknown = set(contenders) - set(CONTENDERS)
    if unknown:
        parser.error(f"--contenders: unknown {', '.join(sorted(unknown))}; choose from {', '.join(CONTENDERS)}")
    print(f"# dedup benchmark (polars {pl.__version__}, numpy {np.__version__})")
    if not args.speed:
        quality(args.threshold)
    if not args.quality:
        sizes = [int(s) for s in args.sizes.split(",")]
        speed(sizes, args.rounds, args.threshold, args.cache, args.xquad, contenders)


if __name__ == "__main__":
    main()
