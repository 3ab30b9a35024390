"""Rows/s of the quickstart steps on the Ray engine with 1 and 2 workers, against the local engine, same run.

    python bench/ray.py               # 200k rows
    python bench/ray.py --rows 50000

On one machine the Ray engine pays for its cluster start and for moving parts between processes; its point is a
cluster, where each worker brings its own cores. Start-up is measured apart from the run itself.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import importlib.util

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# This file is named ray.py: keep its folder off the path so `import ray` finds the real package.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != HERE]
_spec = importlib.util.spec_from_file_location("bench_scale", HERE / "scale.py")
_scale = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_scale)
RECIPE, make_corpus, quickstart_steps = _scale.RECIPE, _scale.make_corpus, _scale.quickstart_steps


def run(recipe: Path, out: Path, engine: str, workers: int | None) -> float:
    from curate.engine import RunOptions, run_recipe
    from curate.progress import Reporter
    from curate.validate import load_and_check

    loaded, sources = load_and_check(recipe)
    started = time.perf_counter()
    manifest = run_recipe(loaded, sources, RunOptions(out=out, engine=engine, workers=workers), Reporter(quiet=True))
    assert manifest["accounting"]["ok"]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    import ray

    with tempfile.TemporaryDirectory(prefix="curate-ray-") as tmp:
        tmp = Path(tmp)
        data = tmp / "corpus.jsonl"
        make_corpus(data, args.rows)
        recipe = tmp / "r.yaml"
        recipe.write_text(RECIPE.format(n=args.rows, data=data, out=tmp / "unused", steps=quickstart_steps())
                          + "engine: {batch_rows: 10000}\n")  # fmt: skip
        results = [("local", None, 0.0, run(recipe, tmp / "local", "local", None))]
        for workers in (1, 2):
            started = time.perf_counter()
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
            startup = time.perf_counter() - started
            results.append(("ray", workers, startup, run(recipe, tmp / f"ray-{workers}", "ray", workers)))
            ray.shutdown()
    base = results[0][3]
    print(f"{args.rows:,} rows, steps of recipes/quickstart.yaml")
    print(f"{'engine':<8}{'workers':>8}{'start s':>9}{'run s':>8}{'rows/s':>10}{'vs local':>10}")
    for engine, workers, startup, seconds in results:
        print(f"{engine:<8}{workers or '-':>8}{startup:>9.1f}{seconds:>8.1f}{args.rows / seconds:>10,.0f}"
              f"{base / seconds:>9.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
