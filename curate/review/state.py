"""Where the review loop keeps its state: files in the review step's work folder, each written atomically.

```
OUT/.curate/NN-review-KEY/review/
  spec.json        what the Argilla dataset looks like (fields, questions, metadata, guidelines) and its name
  queue.parquet    the rows chosen for review, with what reviewers see and the suggestions
  push.json        how far the push got (records sent, dataset, workspace, server URL without credentials)
  waited.json      the run already stopped once for reviewers (`wait: true`)
  answers.parquet  one row per (row, annotator): pulled from Argilla or imported from a file
```
The step's folder is keyed by the recipe up to the step, so a changed recipe gets a fresh queue, and the engine's
`--resume` keeps the folder of a run that stopped. No secret is ever written here.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path
from typing import Any

import polars as pl

from curate.core.errors import CurateError
from curate.io.writers import write_json_atomic, write_parquet_atomic

FOLDER = "review"
_STAGE = re.compile(r"^(\d{2})-review-([0-9a-f]{16})$")

ANSWER_SCHEMA = {
    "_id": pl.String,
    "annotator": pl.String,
    "origin": pl.String,
    "status": pl.String,
    "decision": pl.String,
    "issues": pl.List(pl.String),
    "note": pl.String,
}  # and one `corrected_<field>` column per correctable field


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def empty_answers(correct: list[str]) -> pl.DataFrame:
    return pl.DataFrame(schema={**ANSWER_SCHEMA, **{f"corrected_{f}": pl.String for f in correct}})


class ReviewStore:
    """The files of one review step (see the module doc)."""

    def __init__(self, stage_path: Path, folder: str = FOLDER):
        self.stage_path = Path(stage_path)
        self.path = self.stage_path / folder

    def _file(self, name: str) -> Path:
        return self.path / name

    def _read_json(self, name: str) -> dict[str, Any] | None:
        path = self._file(name)
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def _write_json(self, name: str, data: dict[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self._file(name), data)

    # the queue and the dataset's settings -----------------------------------------------------------------------
    def has_queue(self) -> bool:
        return self._file("queue.parquet").exists() and self._file("spec.json").exists()

    def write_queue(self, queue: pl.DataFrame, spec: dict[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self._write_json("spec.json", spec)
        write_parquet_atomic(queue, self._file("queue.parquet"))  # last: marks the selection done

    def queue(self) -> pl.DataFrame:
        return pl.read_parquet(self._file("queue.parquet"))

    def spec(self) -> dict[str, Any]:
        spec = self._read_json("spec.json")
        if spec is None:
            raise CurateError(f"{self.path}: no review queue here yet")
        return spec

    # push progress ----------------------------------------------------------------------------------------------
    def push_state(self) -> dict[str, Any] | None:
        return self._read_json("push.json")

    def save_push(self, state: dict[str, Any]) -> None:
        self._write_json("push.json", {**state, "at": now()})

    @property
    def pushed(self) -> bool:
        state = self.push_state()
        return bool(state and state.get("done"))

    # the pause for reviewers -----------------------------------------------------------------------------------
    @property
    def waited(self) -> bool:
        return self._file("waited.json").exists()

    def mark_waited(self) -> None:
        self._write_json("waited.json", {"at": now()})

    # answers ----------------------------------------------------------------------------------------------------
    def answers(self) -> pl.DataFrame:
        from curate.review.records import answer_schema

        path = self._file("answers.parquet")
        base = pl.DataFrame(schema=answer_schema(self.spec()))
        if not path.exists():
            return base
        return pl.concat([base, pl.read_parquet(path)], how="diagonal_relaxed")

    def save_answers(self, new: pl.DataFrame, replace_origin: str | None = None) -> tuple[int, int]:
        """Merge answers in: a (row, annotator) pair keeps its latest answer. `replace_origin` drops every older
        answer of that origin first (a pull brings all of Argilla's answers, so one withdrawn there goes here too).
        Returns (answers before, answers after)."""
        old = self.answers()
        before = old.height
        if replace_origin is not None:
            old = old.filter(pl.col("origin") != replace_origin)
        merged = pl.concat([old, new], how="diagonal_relaxed").unique(
            ["_id", "annotator"], keep="last", maintain_order=True
        )
        self.path.mkdir(parents=True, exist_ok=True)
        write_parquet_atomic(merged.sort(["_id", "annotator"]), self._file("answers.parquet"))
        self._write_json("answers.json", {"at": now(), "answers": merged.height})
        return before, merged.height

    def answers_fingerprint(self) -> str:
        """Changes whenever the stored answers change: tells `pull` whether a finished run is out of date."""
        import hashlib

        path = self._file("answers.parquet")
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""

    def mark_applied(self, fingerprint: str) -> None:
        self._write_json("applied.json", {"answers": fingerprint, "at": now()})

    def applied_fingerprint(self) -> str | None:
        data = self._read_json("applied.json")
        return data["answers"] if data else None


# finding a run's review step --------------------------------------------------------------------------------------
def _stage_index(path: Path) -> int:
    return int(_STAGE.match(path.name).group(1))


def review_stages(out: Path) -> list[Path]:
    """The review stage folders of a run: those the finished run's manifest names, else every review folder with a
    queue in OUT/.curate (a stopped run has no manifest yet)."""
    out = Path(out)
    work = out / ".curate"
    if not work.exists():
        hint = (
            " (the recipe says `output.keep_work: false`, which removes it)" if (out / "manifest.json").exists() else ""
        )
        raise CurateError(
            f"{out}: no work folder .curate/ here{hint}; the review state lives there: run the recipe "
            "with a `review` step (and `output.keep_work: true`) first"
        )
    manifest_path = out / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        names = {
            f"{s['index']:02d}-{s['name']}-{s['key'][:16]}" for s in manifest.get("steps", []) if s["name"] == "review"
        }
        found = [work / n for n in sorted(names) if (work / n / FOLDER / "spec.json").exists()]
    else:
        found = sorted(
            p for p in work.iterdir() if p.is_dir() and _STAGE.match(p.name) and (p / FOLDER / "spec.json").exists()
        )
    return found


def find_stage(out: Path, step: int | None = None) -> Path:
    """The review stage of a run; `step` (its number in the recipe, as `curate run` prints it) picks one of several."""
    found = review_stages(out)
    if step is not None:
        found = [p for p in found if _stage_index(p) == step]
    if not found:
        which = f" for step {step}" if step is not None else ""
        raise CurateError(
            f"{out}: no review queue{which}; add a `review` step to the recipe and run it "
            "(it writes the queue, and pushes it unless `push: false`)"
        )
    indices = sorted({_stage_index(p) for p in found})
    if len(indices) > 1:
        raise CurateError(
            f"{out}: the recipe has several review steps ({', '.join(map(str, indices))}); choose one with --step N"
        )
    # one step, maybe several versions of it (a changed recipe not yet run again): the latest queue wins
    return max(found, key=lambda p: (p / FOLDER / "spec.json").stat().st_mtime)


def reopen(out: Path, stage_path: Path) -> bool:
    """Make a finished run apply new answers: forget the review step's output and everything after it, and the
    manifest, so `curate run --resume` recomputes from the review step on (the steps before it stay cached, the
    review folder with its queue and answers stays). Returns False when the run was not finished (nothing to do)."""
    out = Path(out)
    manifest = out / "manifest.json"
    if not manifest.exists():
        return False
    index = _stage_index(stage_path)
    for child in stage_path.iterdir():
        if child.is_file():  # parts, stats, state, _SUCCESS.json; not review/ nor artifacts/
            child.unlink()
    for other in (out / ".curate").iterdir():
        match = re.match(r"^(\d{2})-", other.name)
        if other.is_dir() and match and int(match.group(1)) > index:
            shutil.rmtree(other)
    manifest.unlink()
    return True
