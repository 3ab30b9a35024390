"""A recipe's run: its schema (`recipe`) and checks (`validate`), its sources, the engine that takes them through the
steps to the shards (`engine`, or `ray_engine` on a Ray cluster), the split assignment, and keeping raw personal
data in the work folder (`privacy`). What the run writes is `curate.outputs`.

`run_recipe` is the entry: it picks the engine."""

from __future__ import annotations

from curate.core.progress import Reporter
from curate.run.engine import Run, RunOptions
from curate.run.ray_engine import RayRun
from curate.run.recipe import Recipe
from curate.run.sources import ResolvedSource

__all__ = ["RunOptions", "run_recipe"]


def run_recipe(
    recipe: Recipe, sources: list[ResolvedSource], options: RunOptions, reporter: Reporter | None = None
) -> dict:
    """Run `recipe` on its resolved `sources` with the engine `options.engine` names; the manifest it wrote."""
    reporter = reporter or Reporter()
    if options.engine == "ray":
        return RayRun(recipe, sources, options, reporter, address=options.address, workers=options.workers).execute()
    return Run(recipe, sources, options, reporter).execute()
