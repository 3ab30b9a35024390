#!/usr/bin/env python3
"""Benchmark of the `dedup` step: quality on real revisions and planted edits, speed against datasketch, memory.

    python bench/dedup.py                        # everything: quality, speed at 10k/100k (+ datasketch), 1M
    python bench/dedup.py --quality              # only the quality figures (a few seconds)
    python bench/dedup.py --sizes 10000,100000   # speed/memory at these sizes, no 1M run
    python bench/dedup.py --baseline 20000       # time the datasketch loop on fewer documents

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
  * The step runs as the engine drives it, in a fresh subprocess per size: `fit` over the parts (fit columns only),
    the state pickled, `apply` per part; peak RSS is that subprocess's high-water mark (VmHWM).
  * The baseline is the plain datasketch loop over the same documents and shingles, in its own subprocess: one
    `MinHash` per document (permutations shared), `update` per shingle, `MinHashLSH.query`, then `insert` if no
    match. Same threshold, num_perm and shingling.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import re
import resource
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
from curate.stages.base import StepContext
from curate.stages.dedup import Dedup

EVAL = ROOT.parent / "shared" / "eval" / "dedup"
PART_ROWS = 50_000
SENTENCE_END = re.compile(r"(?<=[.!?。！？؟।])\s*")
NO_SPACE_LANGS = {"zh", "th"}


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


# workers (run in subprocesses so that each peak RSS is their own) --------------------------------------------------
def run_step(parts: list[Path], config: dict, workdir: Path) -> dict:
    cpu_before = _usage()["cpu_s"]
    started = time.perf_counter()
    step = Dedup.from_dict(config, StepContext(seed=0, workdir=workdir, output_dir=workdir / "out"))
    step.setup()
    state = step.fit(pl.read_parquet(p, columns=step.fit_columns()) for p in parts)
    fitted = time.perf_counter()
    blob = pickle.dumps(state)
    state = pickle.loads(blob)
    dropped = docs = 0
    for p in parts:
        result = step.apply(pl.read_parquet(p), state)
        dropped += result.rejected.height
        docs += result.kept.height + result.rejected.height
    done = time.perf_counter()
    return {"docs": docs, "dropped": dropped, "fit_s": fitted - started, "apply_s": done - fitted,
            "seconds": done - started, "state_mb": len(blob) / 2**20, "stats": state.stats, **_usage(),
            "cpu_before": cpu_before}  # fmt: skip


def _usage() -> dict:
    """Peak RSS and CPU seconds (all threads) of this process so far. The peak is VmHWM from /proc (Linux):
    ru_maxrss would report the parent's peak in a child started by exec."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = usage.ru_maxrss / 1024
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    return {"rss_mb": peak, "cpu_s": usage.ru_utime + usage.ru_stime}


_PUNCT_TABLE: dict[int, str] | None = None
_NO_SPACE = re.compile(r"[\u2e80-\u2fdf\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0eff\u1000-\u109f"
                       r"\u1780-\u17ff\u0f00-\u0fff]")  # fmt: skip


def python_normalize(text: str) -> str:
    """The step's normalisation in plain Python: lowercase, punctuation and symbols to spaces, whitespace folded."""
    global _PUNCT_TABLE
    if _PUNCT_TABLE is None:
        import unicodedata

        _PUNCT_TABLE = {c: " " for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c))[0] in "PS"}
    return " ".join(text.lower().translate(_PUNCT_TABLE).split())


def baseline_shingles(text: str, ngram: int) -> list[str]:
    text = python_normalize(text)
    letters = sum(ch.isalpha() for ch in text)
    mode = "char" if letters and 2 * len(_NO_SPACE.findall(text)) >= letters else "word"
    return [" ".join(s) for s in shingles(text, mode, ngram)]


def run_datasketch(parts: list[Path], limit: int, threshold: float, num_perm: int, ngram: int) -> dict:
    from datasketch import MinHash, MinHashLSH

    python_normalize("")  # build the translation table outside the timing
    cpu_before = _usage()["cpu_s"]
    started = time.perf_counter()
    template = MinHash(num_perm=num_perm, seed=1)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    docs = dropped = 0
    for p in parts:
        frame = pl.read_parquet(p).head(limit - docs)
        for key, text in frame.iter_rows():
            m = MinHash(num_perm=num_perm, seed=1, permutations=template.permutations, scheme=template.scheme)
            for s in baseline_shingles(text, ngram):
                m.update(s.encode("utf-8"))
            if lsh.query(m):
                dropped += 1
            else:
                lsh.insert(key, m)
            docs += 1
        if docs >= limit:
            break
    return {"docs": docs, "dropped": dropped, "seconds": time.perf_counter() - started, **_usage(),
            "cpu_before": cpu_before}


def in_subprocess(kind: str, **kwargs) -> dict:
    payload = json.dumps({"kind": kind, **{k: (str(v) if isinstance(v, Path) else v) for k, v in kwargs.items()}})
    proc = subprocess.run([sys.executable, __file__, "--worker", payload], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} worker failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def worker(payload: str) -> None:
    args = json.loads(payload)
    parts = sorted(Path(args["corpus"]).glob("part-*.parquet"))
    if args["kind"] == "step":
        with tempfile.TemporaryDirectory(prefix="bench-dedup-") as tmp:
            result = run_step(parts, args["config"], Path(tmp))
    else:
        result = run_datasketch(parts, args["limit"], args["threshold"], args["num_perm"], args["ngram"])
    print(json.dumps(result))


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
    return {"recall": same[positive].mean(), "positives": int(positive.sum()), "negatives_merged": merged_neg,
            "negatives": int(negative.sum()), "precision": merged_pos / max(1, merged_pos + merged_neg)}  # fmt: skip


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
    return {"docs": len(ids), "true_pairs": len(truth), "predicted_pairs": len(pred), "precision": precision,
            "recall": recall, "f1": 2 * precision * recall / (precision + recall) if tp else 0.0,
            "pairs_near_threshold": int(((sims >= t - 0.05) & (sims < t + 0.05)).sum()), "family_pairs": len(sims)}  # fmt: skip


# main --------------------------------------------------------------------------------------------------------------
def quality(threshold: float) -> None:
    print("\n## Quality\n")
    print("| data | shingles | threshold | verify | recall | precision | F1 | notes |")
    print("|---|---|---:|---|---:|---:|---:|---|")
    for t, verify in ((threshold, "exact"), (threshold, "estimate"), (threshold, "none"), (0.7, "exact")):
        q = udhr_quality({"tokenize": "char", "ngram": 5, "threshold": t, "verify": verify})
        print(f"| UDHR revisions | char 5 | {t} | {verify} | {q['recall']:.4f} | {q['precision']:.4f} | | "
              f"{q['negatives_merged']} of "
              f"{q['negatives']} hard negatives merged; recall over the {q['positives']} label-1 pairs with J >= 0.8 |", flush=True)  # fmt: skip
    corpus = planted_corpus()
    for tokenize, t, verify in (("auto", threshold, "exact"), ("auto", threshold, "estimate"), ("auto", threshold, "none"),
                                ("char", threshold, "exact"), ("auto", 0.7, "exact")):  # fmt: skip
        q = planted_quality(corpus, {"threshold": t, "tokenize": tokenize, "verify": verify})
        shingle = "auto 5 (words; chars for zh, th)" if tokenize == "auto" else f"{tokenize} 5"
        print(f"| XQuAD planted edits | {shingle} | {t} | {verify} | {q['recall']:.4f} | {q['precision']:.4f} | "
              f"{q['f1']:.4f} | {q['docs']} docs, {q['true_pairs']} true pairs; {q['pairs_near_threshold']} of "
              f"{q['family_pairs']} same-source pairs within ±0.05 of t |", flush=True)  # fmt: skip


def speed(sizes: list[int], baseline: int, threshold: float, cache: Path, xquad: Path) -> None:
    config = {"method": "minhash", "threshold": threshold}
    print(f"\n## Speed and memory (minhash, threshold {threshold}, num_perm 128, 5-gram shingles, {os.cpu_count()} CPUs)\n")
    print("| docs | what | wall s | docs/s (wall) | CPU s | docs/CPU-s | peak RSS (MB) | dropped | notes |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---|")
    for n in sizes:
        corpus = cache / f"corpus-{n}"
        make_corpus(n, corpus, xquad)
        r = in_subprocess("step", corpus=corpus, config=config)
        notes = (f"fit {r['fit_s']:.1f}s, apply {r['apply_s']:.1f}s, state {r['state_mb']:.1f} MB, "
                 f"{r['stats'].get('bands')}x{r['stats'].get('rows_per_band')} bands, "
                 f"{r['stats'].get('candidate_pairs'):,} candidate pairs")  # fmt: skip
        print(f"| {n:,} | curate dedup step | {_figures(r)} | {r['dropped']:,} | {notes} |", flush=True)
        if baseline and (n == baseline or (baseline < n and n == min(s for s in sizes if s >= baseline))):
            b = in_subprocess("datasketch", corpus=corpus, limit=baseline, threshold=threshold, num_perm=128, ngram=5)
            print(f"| {b['docs']:,} | datasketch loop | {_figures(b)} | {b['dropped']:,} | datasketch "
                  f"{_version('datasketch')}, MinHashLSH(threshold={threshold}, num_perm=128) |", flush=True)  # fmt: skip
            same = "same documents" if b["docs"] == r["docs"] else f"datasketch on the first {b['docs']:,} of them, rates"
            wall = (r["docs"] / r["seconds"]) / (b["docs"] / b["seconds"])
            cpu = (r["docs"] / (r["cpu_s"] - r["cpu_before"])) / (b["docs"] / (b["cpu_s"] - b["cpu_before"]))
            print(f"\nspeed-up at {n:,} docs ({same}): {wall:.1f}x in wall time, {cpu:.1f}x in CPU time\n", flush=True)


def _figures(r: dict) -> str:
    cpu = r["cpu_s"] - r["cpu_before"]
    return (f"{r['seconds']:.1f} | {r['docs'] / r['seconds']:,.0f} | {cpu:.1f} | {r['docs'] / cpu:,.0f} | "
            f"{r['rss_mb']:,.0f}")


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--quality", action="store_true", help="only the quality figures")
    parser.add_argument("--speed", action="store_true", help="only the speed and memory figures")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="corpus sizes for speed and memory")
    parser.add_argument("--baseline", type=int, default=100_000, help="documents for the datasketch loop (0: none)")
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "curate-bench-dedup")
    parser.add_argument("--xquad", type=Path, default=EVAL / "xquad_paragraphs.jsonl")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    if not args.xquad.exists():
        raise SystemExit(f"{args.xquad} not found: the benchmark needs ../shared/eval/dedup (see its SOURCE.md)")
    print(f"# dedup benchmark (polars {pl.__version__}, numpy {np.__version__})")
    if not args.speed:
        quality(args.threshold)
    if not args.quality:
        speed([int(s) for s in args.sizes.split(",")], args.baseline, args.threshold, args.cache, args.xquad)


if __name__ == "__main__":
    main()
