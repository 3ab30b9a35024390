"""Base classes for steps.

A step is a class with a pydantic `Config`, registered by its recipe name. Batch steps see one polars frame at a
time and return the rows they keep and the rows they reject, each reject with an exact reason string. Global steps
(dedup, balance) first `fit` on a narrow scan of the whole stage (ids, signatures: never the text of every row at
once) and then `apply` per batch. The engine does the batching, the I/O, the stats and the reject files.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict

from curate.core.rows import REASON, partition


class StepConfig(BaseModel):
    """Base of every step's config: unknown keys are errors, so a misspelt key never passes silently."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class StepContext:
    """What a step may know about the run it is in."""

    seed: int = 0
    workdir: Path | None = None  # a folder the step may use for caches and state
    recipe_dir: Path = Path(".")
    index: int = 0  # position of the step in the recipe
    output_dir: Path | None = None  # the run's OUT folder, for artifacts a later run reads (e.g. dedup signatures)
    recipe: dict | None = None  # the resolved recipe (name, description, steps), e.g. for review guidelines
    tags: frozenset[str] = frozenset()  # columns the steps before this one add as tags (codes, scores), not text
    resume_command: str = "curate run RECIPE --resume"  # the command that goes on with this run, for messages

    def artifact(self, name: str) -> Path:
        """Where a step writes a file for OUT/ (e.g. `weights.json`): kept with the step's cache and copied to OUT/
        by the engine on every run, so it is there even when the step itself was cached."""
        folder = (self.workdir or Path(".")) / "artifacts"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name


@dataclass(frozen=True)
class CardSection:
    """A section of the dataset card about a step, or about every step of one kind together. `place` puts it among
    the card's own sections: `findings` (what the data held: before the synthetic rows), `review` (after them),
    `steps` (a step's own figures), `files` (what the steps wrote for training); `index` (the step's place in the
    recipe) orders it within its place."""

    title: str
    text: str
    index: int
    place: Literal["findings", "review", "steps", "files"] = "steps"


@dataclass
class StepResult:
    """Rows kept and rows rejected (with a `_reason` column, maybe `_detail`); `stats` are extra counters for the
    manifest (rows changed, tags set); the engine counts rows and reasons itself."""

    kept: pl.DataFrame
    rejected: pl.DataFrame
    stats: Counter = field(default_factory=Counter)


class Step:
    """A recipe step. Subclasses set `Config` and implement `BatchStep.process` or the `GlobalStep` pair."""

    name: ClassVar[str] = "?"
    Config: ClassVar[type[StepConfig]] = StepConfig
    version: ClassVar[str] = "1"  # bump when the step's output changes for the same config: invalidates caches
    scrubs_rejects: ClassVar[bool] = (
        False  # has `scrub(rejects)`: the engine runs the rejects of earlier steps through it
    )
    note_if_absent: ClassVar[str | None] = None  # a limitation the card states when a recipe has no such step

    def __init__(self, config: StepConfig, context: StepContext | None = None):
        self.config = config
        self.context = context or StepContext()

    @classmethod
    def from_dict(cls, params: dict[str, Any] | None, context: StepContext | None = None) -> Step:
        return cls(cls.Config.model_validate(params or {}), context)

    def requires(self) -> list[str]:
        """Columns that must exist before this step (checked when the recipe is validated)."""
        return []

    def produces(self) -> list[str]:
        """Columns this step adds."""
        return []

    def adds_text(self) -> list[str]:
        """The columns of `produces` that hold text rather than tags (codes, scores, ids): a later `pii` step scans
        them too."""
        return []

    def setup(self) -> None:
        """Load models or other heavy resources; called once per run (or once per worker) before any batch."""

    @classmethod
    def notes(cls, params: dict[str, Any], stats: dict[str, int]) -> list[str]:
        """What a user must hear about this step's run (its resolved params and stats): warned after the step runs,
        kept in the manifest, shown by `curate inspect` and in the card's limitations."""
        return []

    @classmethod
    def card_section(cls, params: dict[str, Any], stats: dict[str, int]) -> str | None:
        """A section of the dataset card (markdown) about what this step did, or None."""
        return None

    @classmethod
    def card_sections(cls, steps: list[dict[str, Any]]) -> list[CardSection]:
        """The card's sections about every step of this kind in a run (`steps`: their manifest entries, in recipe
        order, with `index`, `params`, `stats`, `reasons` and `artifacts`); by default `card_section` of each, titled
        by the step. Override to write about them together (one table for two dedup steps)."""
        sections = []
        for step in steps:
            text = cls.card_section(step["params"], step["stats"])
            if text:
                sections.append(CardSection(f"Step {step['index']}: {step['name']}", text, step["index"]))
        return sections

    @classmethod
    def artifacts(cls, params: dict[str, Any]) -> dict[str, str]:
        """Files the step leaves in OUT/ for other tools (written with `StepContext.artifact`), each with what it is
        for: the manifest lists those a run wrote with the step (e.g. balance's `weights.json`)."""
        return {}

    def run_notes(self) -> list[str]:
        """What a user must do once the run is over (e.g. answer the rows waiting for review): printed after the
        accounting and kept in the manifest. Asked at the end of every run, whether the step ran or was cached."""
        return []

    @classmethod
    def summary(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""


class BatchStep(Step):
    def process(self, batch: pl.DataFrame) -> StepResult:
        raise NotImplementedError


class FilterStep(BatchStep):
    """A step that keeps or drops rows: `reason()` is an expression giving null to keep or a reason string to drop."""

    def reason(self) -> pl.Expr:
        raise NotImplementedError

    def process(self, batch: pl.DataFrame) -> StepResult:
        return StepResult(*partition(batch.with_columns(self.reason().alias(REASON))))


class GlobalStep(Step):
    """A step that needs to see every row before deciding (dedup, balance)."""

    state_type: ClassVar[type]  # the dataclass `fit` returns: saved as data (frames and JSON) for resume

    def fit_columns(self) -> list[str]:
        """The columns `fit` needs; only these are read for the whole stage."""
        return ["_id"]

    def fit(self, frames: Iterator[pl.DataFrame]) -> Any:
        """Return a state (a `state_type`) that `apply` uses; saved as data in the step's work folder for resume."""
        raise NotImplementedError

    def fit_map(self, frame: pl.DataFrame) -> Any:
        """The per-batch part of `fit` that can run in parallel (e.g. MinHash signatures); by default the batch."""
        return frame

    def fit_reduce(self, partials: Iterator[Any]) -> Any:
        """Combine the `fit_map` results, in input order, into the state; by default `fit` over them."""
        return self.fit(partials)

    def fit_stats(self, state: Any) -> dict[str, int]:
        """Figures of `fit` for the manifest (clusters found, candidate pairs...)."""
        return {}

    def apply(self, batch: pl.DataFrame, state: Any) -> StepResult:
        raise NotImplementedError
