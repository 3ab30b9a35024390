"""The work folder: one sub-folder per stage, one file per batch, so a killed run resumes where it stopped.

A stage folder is named by a hash of everything its output depends on (the inputs, every step up to it, their
configs and versions), so a cached stage can never be stale: changing step k changes the keys of k and everything
after it, and only those are recomputed. A part is done when its data file exists (written last, atomically).

A global step's state is saved as data (its frames as parquet, the rest as JSON) and read back into the class the
step names, never unpickled: anyone who can write to OUT (a shared filesystem) must not be able to run code.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import typing
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import ConfigDict, TypeAdapter

from curate.io.writers import write_json_atomic, write_parquet_atomic

SUCCESS = "_SUCCESS.json"
STATE = "state.json"
STAGE_FOLDER = re.compile(r"^\d{2}-[a-z0-9_]+-[0-9a-f]{16}$")  # `{index:02d}-{step}-{key[:16]}`
RAW_REMOVED = "_RAW_REMOVED.json"  # a stage before a pii step whose raw rows were removed after the run


@dataclass
class PartStats:
    """Rows of one part through one step: `rows_in + added = rows_out + rejected`, where `added` are the rows the
    step made (synthetic rows, copies), `added_rejected` of them rejected by the step itself."""

    rows_in: int = 0
    rows_out: int = 0
    rejected: int = 0
    seconds: float = 0.0
    reasons: Counter | None = None
    stats: Counter | None = None
    added: int = 0
    added_rejected: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "rejected": self.rejected,
            "added": self.added,
            "added_rejected": self.added_rejected,
            "seconds": round(self.seconds, 6),
            "reasons": dict(self.reasons or {}),
            "stats": dict(self.stats or {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PartStats:
        return cls(
            data["rows_in"],
            data["rows_out"],
            data["rejected"],
            data["seconds"],
            Counter(data.get("reasons", {})),
            Counter(data.get("stats", {})),
            data.get("added", 0),
            data.get("added_rejected", 0),
        )


def total(parts: list[PartStats]) -> PartStats:
    out = PartStats(reasons=Counter(), stats=Counter())
    for p in parts:
        out.rows_in += p.rows_in
        out.rows_out += p.rows_out
        out.rejected += p.rejected
        out.added += p.added
        out.added_rejected += p.added_rejected
        out.seconds += p.seconds
        out.reasons.update(p.reasons or {})
        out.stats.update(p.stats or {})
    return out


@dataclass
class StageDir:
    index: int
    name: str
    key: str
    root: Path

    @property
    def path(self) -> Path:
        return self.root / f"{self.index:02d}-{self.name}-{self.key[:16]}"

    def data(self, part: str) -> Path:
        return self.path / f"{part}.parquet"

    def rejects(self, part: str) -> Path:
        return self.path / f"{part}.rejects.parquet"

    def stats_file(self, part: str) -> Path:
        return self.path / f"{part}.json"

    def is_done(self, part: str) -> bool:
        return self.data(part).exists() and self.stats_file(part).exists()

    def part_stats(self, part: str) -> PartStats:
        return PartStats.from_json(json.loads(self.stats_file(part).read_text()))

    def write_part(self, part: str, kept: pl.DataFrame, rejected: pl.DataFrame, stats: PartStats) -> None:
        if rejected.height:
            write_parquet_atomic(rejected, self.rejects(part))
        else:
            self.rejects(part).unlink(missing_ok=True)
        write_json_atomic(self.stats_file(part), stats.to_json())
        write_parquet_atomic(kept, self.data(part))  # last: its presence marks the part done

    def is_complete(self) -> bool:
        return (self.path / SUCCESS).exists()

    def parts(self) -> list[str]:
        return json.loads((self.path / SUCCESS).read_text())["parts"]

    def complete(self, parts: list[str]) -> None:
        write_json_atomic(self.path / SUCCESS, {"parts": parts})

    def save_state(self, state: Any) -> None:
        """A dataclass state: its frames to `state-<field>.parquet`, the other fields to `state.json` (written last:
        its presence marks the state complete)."""
        frames, values = split_state(state)
        for name, frame in frames.items():
            write_parquet_atomic(frame, self.path / f"state-{name}.parquet")
        write_json_atomic(self.path / STATE, {"frames": sorted(frames), "values": values})

    def load_state(self, state_type: type) -> Any | None:
        """The saved state as a `state_type`, or None when there is none (or it does not fit that type: the fit is
        then run again)."""
        path = self.path / STATE
        if not path.exists():
            return None
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            frames = {name: pl.read_parquet(self.path / f"state-{name}.parquet") for name in saved["frames"]}
            return build_state(state_type, saved["values"], frames)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def reject_files(self, parts: list[str]) -> list[Path]:
        return [self.rejects(p) for p in parts if self.rejects(p).exists()]

    def scrubbed(self, part: str, key: str) -> Path:
        """The part's rejects as the pii steps after this stage leave them (`key`: those steps' stage keys)."""
        return self.path / f"{part}.scrubbed-{key[:16]}.rejects.parquet"

    def raw_removed(self) -> bool:
        return (self.path / RAW_REMOVED).exists()

    def remove_raw(self, parts: list[str], key: str) -> None:
        """Delete the rows, raw rejects and state of a finished stage, keeping its figures (JSON) and its scrubbed
        rejects (for the reject files and the card of later runs). The stage can no longer feed the next one
        (`forget` it then)."""
        write_json_atomic(self.path / RAW_REMOVED, {"scrubbed": key})
        keep = {self.scrubbed(p, key).name for p in parts}
        for path in self.path.iterdir():
            if path.is_file() and path.suffix != ".json" and path.name not in keep:
                path.unlink()

    def forget(self) -> None:
        """Make a finished stage run again: remove its files (parts, stats, state), not its sub-folders (a review
        step's queue and answers, artifacts)."""
        for child in self.path.iterdir() if self.path.exists() else ():
            if child.is_file():
                child.unlink()


def split_state(state: Any) -> tuple[dict[str, pl.DataFrame], dict[str, Any]]:
    """(frames, JSON values) of a dataclass state."""
    if not dataclasses.is_dataclass(state):
        raise TypeError(f"a step's state must be a dataclass, not {type(state).__name__}")
    frames, values = {}, {}
    for f in dataclasses.fields(state):
        value = getattr(state, f.name)
        if isinstance(value, pl.DataFrame):
            frames[f.name] = value
        else:
            values[f.name] = value
    json.dumps(values, allow_nan=False)  # fails here, not on resume, if a value is not plain data
    return frames, values


def build_state(state_type: type, values: dict[str, Any], frames: dict[str, pl.DataFrame]) -> Any:
    """A `state_type` from saved data, each value checked against (and converted to) its field's type."""
    hints = typing.get_type_hints(state_type)
    names = {f.name for f in dataclasses.fields(state_type)}
    if not set(values) | set(frames) <= names:
        raise ValueError(f"unknown fields in a saved {state_type.__name__}")
    config = ConfigDict(arbitrary_types_allowed=True)  # a frame field that is None is a value
    converted = {name: TypeAdapter(hints[name], config=config).validate_python(value) for name, value in values.items()}
    return state_type(**converted, **frames)


def tidy(root: Path, stages: list[StageDir], keep_partial: bool) -> list[str]:
    """Remove stage folders of other recipes' versions, and unfinished ones unless resuming (only folders named as
    stages are). Returns what was removed, for the log."""
    removed = []
    if not root.exists():
        return removed
    current = {s.path.name for s in stages}
    partial_ok = {s.path.name for s in stages if keep_partial or s.is_complete()}
    for child in sorted(root.iterdir()):
        if not (STAGE_FOLDER.match(child.name) and child.is_dir() and not child.is_symlink()):
            continue
        if child.name not in current or child.name not in partial_ok:
            shutil.rmtree(child)
            removed.append(child.name)
    return removed
