"""Rows/s of the quickstart steps on the Ray engine against the local engine, in the same run: a local Ray cluster
with 1 and 2 workers, and a two-node cluster started with `ray start` as the README says (tests/local_ray.py: a head
and a worker, one CPU each, token authentication on), with what the Ray engine's overhead is made of:

- start: starting the cluster (a local one: `ray.init`; the two nodes: `ray start` of each, until `ray status` lists
  both), once; and the driver's connection to a running cluster (the check, `ray.init`, curate's code sent), each run;
- moving parts: the wall time of a step that keeps every row (5 `filter` steps), per step and per part, on each
  engine: what handing a stage's parts to workers costs beyond the step's own work;
- model loading: each quickstart step built and set up (imports, models) on a fresh worker process of the two-node
  cluster: every worker pays it once for each step it runs.

The driver first runs the quick start on 2,000 rows, so that no engine's figure holds this process's imports; the
local engine runs first and last, so that the spread of a busy machine shows.

    python bench/ray.py               # 200k rows
    python bench/ray.py --rows 50000

On one machine the Ray engine pays these costs without the cores a cluster adds; its point is a cluster, where each
node brings its own cores.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import pickle
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# This file is named ray.py: keep its folder off the path so `import ray` finds the real package.
sys.path = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]
_spec = importlib.util.spec_from_file_location("bench_scale", HERE / "scale.py")
_scale = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_scale)
RECIPE, make_corpus, quickstart_steps = _scale.RECIPE, _scale.make_corpus, _scale.quickstart_steps

from curate.core.progress import Reporter  # noqa: E402

PASS_STEPS = 5
PASS_THROUGH = "".join("  - filter: {column: text, is_null: false}\n" for _ in range(PASS_STEPS))
BATCH_ROWS = 10_000


class StageTimes(Reporter):
    """Wall time and parts of each stage, as the engine runs it."""

    def __init__(self):
        super().__init__(quiet=True)
        self.seconds: dict[str, float] = {}
        self.parts: dict[str, int] = {}

    def warn(self, message: str) -> None:
        pass  # the steps' notes on the corpus, the same on every engine

    @contextmanager
    def stage(self, label: str, parts: int) -> Iterator:
        started = time.perf_counter()
        with super().stage(label, parts) as tracker:
            yield tracker
        self.seconds[label], self.parts[label] = time.perf_counter() - started, parts


def write_recipe(path: Path, data: Path, steps: str) -> Path:
    path.write_text(
        RECIPE.format(n=0, data=data, out=path.parent / "unused", steps=steps)
        + f"engine: {{batch_rows: {BATCH_ROWS}}}\n"
    )
    return path


def run(recipe: Path, out: Path, engine: str, limit: int | None = None) -> tuple[float, StageTimes]:
    from curate.run import RunOptions, run_recipe
    from curate.run.validate import load_and_check

    loaded, sources = load_and_check(recipe)
    times = StageTimes()
    started = time.perf_counter()
    manifest = run_recipe(loaded, sources, RunOptions(out=out, engine=engine, limit=limit), times)
    assert manifest["accounting"]["ok"]
    return time.perf_counter() - started, times


def pass_step(times: StageTimes) -> tuple[float, int]:
    """Mean wall seconds of the pass-through steps, and their parts."""
    labels = [label for label in times.seconds if label.endswith(". filter")]
    return sum(times.seconds[label] for label in labels) / len(labels), times.parts[labels[0]]


def model_loading(recipe: Path, workdir: Path) -> list[tuple[str, float]]:
    """Seconds to import curate's steps, then to build and set up each step, on a fresh worker process of each
    node (mean over the nodes)."""
    import ray

    from curate.run.engine import Run, RunOptions
    from curate.run.validate import load_and_check

    loaded, sources = load_and_check(recipe)
    engine_run = Run(loaded, sources, RunOptions(out=workdir), Reporter(quiet=True))
    stages = engine_run.plan()
    steps = [
        (spec.name, step.config, step.context)
        for spec in loaded.steps
        for step in [engine_run.make_step(spec, stages[spec.index + 1])]
    ]
    nodes = sum(1 for n in ray.nodes() if n.get("Alive"))
    # a runtime_env of its own: Ray starts new worker processes for it, which have imported nothing of curate
    fresh = {"env_vars": {"CURATE_BENCH_FRESH_WORKER": str(time.time())}}
    setup = ray.remote(num_cpus=1, max_calls=1, scheduling_strategy="SPREAD", runtime_env=fresh)(_set_up)
    blob = pickle.dumps(steps)  # unpickled on the worker, timed: it imports curate's step modules
    per_node = ray.get([setup.remote(blob) for _ in range(nodes)])
    names = ["imports"] + [name for name, *_ in steps]
    return [(name, sum(t[i] for t in per_node) / nodes) for i, name in enumerate(names)]


def _set_up(blob: bytes) -> list[float]:
    started = time.perf_counter()
    steps = pickle.loads(blob)
    from curate.stages.registry import get_step  # every step's module

    seconds = [time.perf_counter() - started]
    for name, config, context in steps:
        started = time.perf_counter()
        get_step(name)(config, context).setup()
        seconds.append(time.perf_counter() - started)
    return seconds


def measure(name: str, recipes: dict[str, Path], tmp: Path, engine: str) -> dict:
    seconds, _ = run(recipes["quickstart"], tmp / f"{name}-run", engine)
    _, times = run(recipes["pass"], tmp / f"{name}-pass", engine)
    per_step, parts = pass_step(times)
    return {"engine": engine, "name": name, "run": seconds, "pass": per_step, "parts": parts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    import ray

    from curate.run.ray_engine import connect
    from tests.local_ray import local_cluster

    for key in [k for k in os.environ if k.startswith("RAY_")]:
        del os.environ[key]
    quiet = Reporter(quiet=True)
    with tempfile.TemporaryDirectory(prefix="curate-bench-ray-") as tmp:
        tmp = Path(tmp)
        data = tmp / "corpus.jsonl"
        make_corpus(data, args.rows)
        recipes = {
            "quickstart": write_recipe(tmp / "quickstart.yaml", data, quickstart_steps()),
            "pass": write_recipe(tmp / "pass.yaml", data, PASS_THROUGH),
        }
        run(recipes["quickstart"], tmp / "warm-up", "local", limit=2000)  # imports and caches, once per process
        results = [{**measure("-", recipes, tmp, "local"), "start": None, "connect": None}]
        for workers in (1, 2):
            started = time.perf_counter()
            connect(None, "--workers", workers, quiet)
            start = time.perf_counter() - started
            results.append(
                {
                    **measure(f"local, {workers} worker{'s' * (workers > 1)}", recipes, tmp, "ray"),
                    "start": start,
                    "connect": None,
                }
            )
            ray.shutdown()
        started = time.perf_counter()
        with local_cluster(cpus=(1, 1)) as cluster:
            start = time.perf_counter() - started
            os.environ.update({k: v for k, v in cluster.env.items() if k.startswith("RAY_AUTH")})
            started = time.perf_counter()
            connect(cluster.address, "--address", None, quiet)
            connected = time.perf_counter() - started
            loading = model_loading(recipes["quickstart"], tmp / "loading")
            results.append(
                {**measure("2 nodes, 1 CPU each", recipes, tmp, "ray"), "start": start, "connect": connected}
            )
            ray.shutdown()
        results.append({**measure("- (again, last)", recipes, tmp, "local"), "start": None, "connect": None})
    report(args.rows, results, loading)


def report(rows: int, results: list[dict], loading: list[tuple[str, float]]) -> None:
    import ray

    local = results[0]
    print(
        f"{rows:,} rows, the steps of recipes/quickstart.yaml; {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} cores, Ray {ray.__version__}, {time.strftime('%Y-%m-%d')}"
    )
    print(
        f"{'engine':<7}{'cluster':<22}{'start s':>8}{'connect s':>10}{'run s':>8}{'rows/s':>9}{'vs local':>9}"
        f"{'s/step':>8}{'ms/part':>8}"
    )
    for r in results:
        start = f"{r['start']:.1f}" if r["start"] is not None else "-"
        connect = f"{r['connect']:.1f}" if r["connect"] is not None else "-"
        per_part = f"{(r['pass'] - local['pass']) / r['parts'] * 1000:.0f}" if r["engine"] == "ray" else "-"
        print(
            f"{r['engine']:<7}{r['name']:<22}{start:>8}{connect:>10}{r['run']:>8.1f}"
            f"{rows / r['run']:>9,.0f}{local['run'] / r['run']:>8.2f}x{r['pass']:>8.2f}{per_part:>8}"
        )
    print(
        f"s/step: wall time of a step that keeps every row ({results[0]['parts']} parts); ms/part: its overhead "
        "per part over the local engine's"
    )
    total = sum(s for _, s in loading)
    print(
        "model loading per worker and step (two-node cluster, fresh worker): "
        + ", ".join(f"{name} {s:.2f} s" for name, s in loading)
        + f"; {total:.1f} s in all"
    )


if __name__ == "__main__":
    main()
