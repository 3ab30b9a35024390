"""The Ray engine: the same stages, files, ids and step code as the local engine, with the work spread over a Ray
cluster.

Files are read in parallel (one task per input file); steps run as Ray Data `map_batches` over the stage's parts,
and each worker process builds a stage's step (and loads its models) once, for all the batches it gets; a global
step's `fit_map`
(e.g. MinHash signatures) runs on the workers and its `fit_reduce` on the driver. Every worker reads and writes the
same part files as the local engine, so caching, `--resume`, the output and the accounting are the same code. The
workers must see OUT (a shared filesystem, or one machine).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import curate
from curate.core.errors import CurateError, MissingDependencyError
from curate.core.progress import Reporter
from curate.outputs.workdir import PartStats
from curate.run.engine import PartJob, ReadJob, Run, read_file, read_part, run_part
from curate.run.ray_connect import DOCS, ClusterError, auth_settings, check_cluster
from curate.stages.base import GlobalStep, Step


def _ray():
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("the Ray engine", "ray[data]", "ray") from None
    return ray


CODE = str(Path(curate.__file__).parent)

# Steps built on this worker process, by stage key: a step (and its models) is built once per worker, and later
# batches of the same stage reuse it. Ray reuses worker processes across tasks.
_BUILT: dict[str, tuple[Step, Any]] = {}


def _run_batch(batch: dict, job: PartJob, state: Any) -> dict:
    key = job.target.key
    if key not in _BUILT:
        ray = _ray()
        step = job.make_step()
        step.setup()
        _BUILT.clear()  # one stage at a time: free the previous stage's models
        _BUILT[key] = (step, ray.get(state) if isinstance(state, ray.ObjectRef) else state)
    step, resolved = _BUILT[key]
    for part in batch["part"]:
        run_part(step, resolved, job, str(part))
    return batch


def _unwrap(exc: BaseException) -> BaseException:
    """A CurateError raised on a worker (bad input with `on_bad_input: fail`) reaches the user as itself."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, CurateError) else exc


def _init(ray, **options) -> None:
    """`ray.init` without its chatter: logs, the dashboard, and tips a user of curate can't act on (Ray 2.52 warns
    about GPU environment variables on every connect)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"ray\.")
        ray.init(include_dashboard=False, log_to_driver=False, logging_level="ERROR", **options)


def connect(address: str | None, origin: str, workers: int | None, reporter: Reporter) -> None:
    """A new local cluster of `workers` CPUs, or the cluster at `address` once `check_cluster` passes. Its workers
    get this driver's curate code (`py_modules`), so every node runs the same steps."""
    ray = _ray()
    if address in (None, "local"):
        _init(ray, address="local", num_cpus=workers)
        return
    auth = auth_settings(os.environ, Path.home())
    reporter.info(f"ray: connecting to {address} ({origin}) {auth.tried()}")
    check_cluster(address, origin, auth)
    try:
        _init(ray, address=address, runtime_env={"py_modules": [CODE], "excludes": ["__pycache__/"]})
    except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as exc:
        raise ClusterError(
            f"connecting to the Ray cluster at {address} ({origin}) {auth.tried()} failed: {exc}; " + DOCS
        ) from None
    nodes = sum(1 for n in ray.nodes() if n.get("Alive"))
    reporter.info(f"ray: {nodes} node{'s' * (nodes != 1)}, {ray.cluster_resources().get('CPU', 0):g} CPUs")


class RayRun(Run):
    def __init__(self, *args, address: str | None = None, workers: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.origin = "--address" if address else "RAY_ADDRESS"
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.workers = workers

    def execute(self) -> dict[str, Any]:
        ray = _ray()
        if not ray.is_initialized():
            connect(self.address, self.origin, self.workers, self.reporter)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        for name in ("ray.data", "ray"):
            logging.getLogger(name).setLevel(logging.ERROR)
        self.pool = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        try:
            return super().execute()
        except ray.exceptions.RayError as exc:
            raise _unwrap(exc) from None

    def read_parts(self, jobs: list[ReadJob]) -> Iterator[tuple[ReadJob, str, PartStats]]:
        if self.options.limit is not None:
            yield from super().read_parts(jobs)  # `--limit` reads in order, on the driver
            return
        ray = _ray()
        read_one = ray.remote(lambda job: list(read_file(job)))
        for job, done in zip(jobs, ray.get([read_one.remote(job) for job in jobs])):
            for part, stats in done:
                yield job, part, stats

    def fit(self, step: GlobalStep, job: PartJob, parts: list[str]) -> Any:
        ray = _ray()

        @ray.remote
        def fit_map(part: str) -> Any:
            worker_step = job.make_step()
            worker_step.setup()
            columns = worker_step.fit_columns()
            return worker_step.fit_map(read_part(job.source.data(part), columns, job.schema, columns))

        partials = ray.get([fit_map.remote(p) for p in parts])
        step.setup()
        return step.fit_reduce(iter(partials))

    def run_parts(self, step: Step, state: Any, job: PartJob, todo: list[str]) -> None:
        if not todo:
            return
        ray = _ray()
        dataset = ray.data.from_items([{"part": p} for p in todo], override_num_blocks=len(todo))
        state_ref = ray.put(state) if state is not None else None
        dataset.map_batches(
            _run_batch,
            fn_kwargs={"job": job, "state": state_ref},
            batch_size=1,
            batch_format="numpy",
            concurrency=min(self.pool, len(todo)),
        ).materialize()
