"""Throughput and peak memory of `curate run` on the quickstart recipe at 10k, 100k and 1M rows.

The rows are the sample pairs of data/pairs/ repeated with a counter appended (so they stay distinct), written as
JSONL. Each size runs in its own process; peak RSS is that process's maximum resident set size. The goal: peak RSS
at 1M rows no more than 2x that at 100k (memory bounded by the batch, not the corpus).

    python bench/scale.py                 # 10k, 100k, 1M
    python bench/scale.py --sizes 10000 100000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RECIPE = """
name: scale-{n}
seed: 13
sources:
  - path: {data}
    columns: {{text: src, target: tgt}}
steps:
{steps}
output:
  dir: {out}
  splits: {{train: 0.9, validation: 0.05, test: 0.05}}
"""


def quickstart_steps() -> str:
    """The steps of recipes/quickstart.yaml, so the bench follows the recipe as it grows."""
    text = (ROOT / "recipes" / "quickstart.yaml").read_text(encoding="utf-8")
    block = text.split("\nsteps:\n", 1)[1].split("\noutput:", 1)[0]
    return block


def make_corpus(path: Path, n: int) -> None:
    """The sample pairs with their languages (the quickstart's `standardize`, `pairs` and `balance` read them)."""
    seeds = []
    for f in sorted((ROOT / "data" / "pairs").glob("*.jsonl")):
        for line in f.read_bytes().splitlines():
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            if isinstance(record, dict) and all(
                isinstance(record.get(k), str) and record[k].strip() for k in ("src", "tgt", "src_lang", "tgt_lang")
            ):
                seeds.append(record)
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(n):
            r = seeds[i % len(seeds)]
            row = {
                "src": f"{r['src']} ({i})",
                "tgt": f"{r['tgt']} ({i})",
                "src_lang": r["src_lang"],
                "tgt_lang": r["tgt_lang"],
            }
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def measure(n: int, workdir: Path) -> dict:
    data = workdir / f"corpus-{n}.jsonl"
    make_corpus(data, n)
    out = workdir / f"out-{n}"
    recipe = workdir / f"scale-{n}.yaml"
    recipe.write_text(RECIPE.format(n=n, data=data, out=out, steps=quickstart_steps()), encoding="utf-8")
    # A fresh interpreter per size: its RUSAGE_CHILDREN maximum is this run's peak RSS alone.
    probe = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        f"rc = subprocess.run([sys.executable, '-m', 'curate', 'run', {str(recipe)!r}, '--quiet']).returncode; "
        "print(rc, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    rc, seconds, rss_kb = done.stdout.split()
    if rc != "0":
        raise SystemExit(f"run failed at {n} rows:\n{done.stderr}")
    manifest = json.loads((out / "manifest.json").read_text())
    return {
        "rows": n,
        "seconds": float(seconds),
        "rows_per_s": n / float(seconds),
        "peak_rss_mb": int(rss_kb) / 1024,
        "ok": manifest["accounting"]["ok"],
        "bytes": data.stat().st_size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="curate-scale-") as tmp:
        for n in args.sizes:
            results.append(measure(n, Path(tmp)))
            r = results[-1]
            print(
                f"{r['rows']:>9,} rows  {r['bytes'] / 1e6:7.1f} MB  {r['seconds']:7.1f} s  {r['rows_per_s']:9,.0f} rows/s  "
                f"peak RSS {r['peak_rss_mb']:7.0f} MB  accounting {'ok' if r['ok'] else 'FAILED'}",
                flush=True,
            )
    by_size = {r["rows"]: r for r in results}
    if 100_000 in by_size and 1_000_000 in by_size:
        ratio = by_size[1_000_000]["peak_rss_mb"] / by_size[100_000]["peak_rss_mb"]
        print(f"peak RSS 1M / 100k = {ratio:.2f} (goal <= 2.00): {'met' if ratio <= 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
