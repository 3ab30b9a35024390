"""Raw personal data stays in the work folder: it leaves a run only after the recipe's `pii` step scrubbed it.

A `pii` step scrubs the rows that reach it. The rows that steps before it reject never do, so their rejects go
through the step's `scrub` (the same detectors, every span masked) before they are written to OUT/rejects/; the
scrubbed copies are kept beside the raw rejects, keyed by the pii stages that made them.

The work folder itself holds the raw rows of every stage before the last pii step: the steps and `--resume` need
them while a run is unfinished. After a successful run they are removed (`output.keep_work: auto`, the default):
those stages keep their counts and scrubbed rejects only, and the stages from the pii step on hold scrubbed rows,
so changing a step after it still reruns from there, while changing the pii step or one before it reads the
inputs again. `keep_work: true` keeps every cache, raw rows included, and says so on every run; `false` removes
the whole work folder.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from curate.io.writers import write_parquet_atomic
from curate.outputs.workdir import StageDir
from curate.stages.registry import get_step

if TYPE_CHECKING:
    from curate.run.recipe import StepSpec
    from curate.stages.base import Step


class Redaction:
    """The pii stages of a run and what they imply for the stages before them."""

    def __init__(self, specs: list[StepSpec], stages: list[StageDir], make_step: Callable[[StepSpec, StageDir], Step]):
        """`specs`: the recipe's steps, `stages`: the run's stages (the read stage first), `make_step`: builds a
        step for a stage (`Run.make_step`)."""
        self.stages = stages
        self.scrubbers: list[tuple[StageDir, StepSpec]] = []  # (pii stage, its spec): steps built when first needed
        for stage, spec in zip(stages[1:], specs):
            if get_step(spec.name).scrubs_rejects:
                self.scrubbers.append((stage, spec))
        self._make = make_step
        self._built: dict[str, Step] = {}

    def is_raw(self, stage: StageDir) -> bool:
        """Does the stage hold rows that a later pii step has not scrubbed yet?"""
        return any(stage.index < pii.index for pii, _ in self.scrubbers)

    def raw_stages(self) -> list[StageDir]:
        return [s for s in self.stages if self.is_raw(s)]

    def _after(self, stage: StageDir) -> list[Step]:
        steps = []
        for pii, spec in self.scrubbers:
            if stage.index < pii.index:
                if pii.key not in self._built:
                    self._built[pii.key] = self._make(spec, pii)
                steps.append(self._built[pii.key])
        return steps

    def key(self, stage: StageDir) -> str:
        return hashlib.sha256("".join(p.key for p, _ in self.scrubbers if stage.index < p.index).encode()).hexdigest()

    def reject_files(self, stage: StageDir, parts: list[str]) -> list[Path]:
        """The stage's reject files as they may leave the run: scrubbed by every pii step after it."""
        if not self.is_raw(stage):
            return stage.reject_files(parts)
        key = self.key(stage)
        out = []
        for part in parts:
            scrubbed = stage.scrubbed(part, key)
            if not scrubbed.exists() and stage.rejects(part).exists():
                frame = pl.read_parquet(stage.rejects(part))
                for step in self._after(stage):
                    frame = step.scrub(frame)
                write_parquet_atomic(frame, scrubbed)
            if scrubbed.exists():
                out.append(scrubbed)
        return out

    def forget_removed_if_needed(self) -> None:
        """A stage that must run needs the rows of the one before it: if those were removed, run the stages whose
        raw rows were removed again (from the inputs)."""
        todo = next((s for s in self.stages if not s.is_complete()), None)
        if todo is None or todo.index == 0 or not self.stages[todo.index - 1].raw_removed():
            return
        for stage in self.stages[: todo.index]:
            if stage.raw_removed():
                stage.forget()

    def raw_kept(self) -> list[StageDir]:
        """The stages before a pii step whose raw rows are still in the work folder."""
        return [s for s in self.raw_stages() if s.path.exists() and not s.raw_removed()]

    def remove_raw(self, parts: list[str]) -> None:
        """After a successful run: delete the raw rows of the stages before the pii steps."""
        for stage in self.raw_kept():
            self.reject_files(stage, parts)  # the scrubbed copies exist before the raw ones go
            stage.remove_raw(parts, self.key(stage))

    def raw_state(self) -> list[Path]:
        """Folders a step before the pii step keeps for later commands (a review step's queue, which holds the rows
        as reviewers saw them, unscrubbed): not removed with the rows, so the run says so."""
        return sorted(
            {
                p.parent
                for s in self.raw_stages()
                if s.path.exists()
                for p in s.path.rglob("*")
                if p.is_file() and p.parent != s.path and p.suffix != ".json"
            }
        )
