"""`curate trace OUT ROW_ID`: one row's lineage, from its source line through every step to where it ended."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from curate.core.errors import CurateError
from curate.outputs.manifest import load_manifest
from curate.outputs.workdir import RAW_REMOVED

RAW_REMOVED_NOTE = (
    "(raw rows removed after the run: this step came before the pii step; output.keep_work: true keeps them)"
)
SHOWN_CHARS = 160


def _find(files: list[Path], row_id: str) -> dict[str, Any] | None:
    for f in files:
        hit = pl.scan_parquet(f).filter(pl.col("_id") == row_id).collect()
        if hit.height:
            return hit.row(0, named=True)
    return None


def _rejected(row: dict[str, Any] | None) -> list[str]:
    if row is None:
        return []
    return [f"rejected: {row.get('_reason')}" + (f" ({row['_detail']})" if row.get("_detail") else "")]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def _source_line(out: Path, manifest: dict[str, Any], source: str, row: int) -> str | None:
    """The record as it stands in its input file, for line-based formats."""
    entry = next((i for i in manifest["inputs"] if i["path"] == source), None)
    if entry is None or entry["format"] not in ("jsonl", "txt"):
        return None
    for path in (Path(entry["location"] or source), Path(source)):
        if path.is_file():
            with open(path, "rb") as handle:
                for i, line in enumerate(handle):
                    if i == row:
                        text = line.rstrip(b"\r\n").decode("utf-8", errors="backslashreplace")
                        return (
                            text
                            if len(text) <= 4 * SHOWN_CHARS
                            else text[: 4 * SHOWN_CHARS] + f"… ({len(text):,} characters)"
                        )
    return None


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    out = []
    for key, value in after.items():
        if key in ("_reason", "_detail", "_step"):
            continue
        if key not in before:
            out.append(f"added {key} = {_short(value)}")
        elif before[key] != value:
            out.append(f"changed {key}: {_short(before[key])} -> {_short(value)}")
    return out


def trace_row(out: Path, row_id: str) -> dict[str, Any]:
    """The lineage of a row as data: where it came from, what each step did, where it ended."""
    out = Path(out)
    manifest = load_manifest(out)
    if manifest is None:
        raise CurateError(f"{out}: no manifest.json here; is it the output folder of a finished `curate run`?")
    data = sorted((out / "data").glob("*.parquet"))
    rejects = sorted((out / "rejects").glob("*.parquet"))
    final = _find(data, row_id)
    rejected = None if final is not None else _find(rejects, row_id)
    if final is None and rejected is None:
        raise CurateError(f"no row with _id '{row_id}' in {out}/data or {out}/rejects")
    row = final or rejected
    lineage: dict[str, Any] = {
        "id": row_id,
        "source": row.get("_source"),
        "row": row.get("_row"),
        "line": _source_line(out, manifest, row.get("_source"), row.get("_row"))
        if row.get("_row") is not None
        else None,
        "steps": [],
        "status": "curated" if final else "rejected",
        "split": next((p.name.split("-")[0] for p in data if _find([p], row_id)), None) if final else None,
        "parent": row.get("_parent_id"),
        "repeat_of": row.get("_repeat_of"),
        "final": row,
    }
    work = out / ".curate"
    previous: dict[str, Any] | None = None
    for step in manifest["steps"]:
        folder = work / f"{step['index']:02d}-{step['name']}-{step['key'][:16]}"
        if not folder.exists():
            lineage["steps"].append({"step": step["name"], "what": ["(no cache: run with output.keep_work: true)"]})
            continue
        if (folder / RAW_REMOVED).exists():
            dropped = _find(sorted(folder.glob("*.scrubbed-*.rejects.parquet")), row_id)
            lineage["steps"].append({"step": step["name"], "what": [RAW_REMOVED_NOTE, *_rejected(dropped)]})
            if dropped is not None:
                break
            previous = None
            continue
        kept = _find(sorted(folder.glob("*[0-9].parquet")), row_id)
        dropped = None if kept else _find(sorted(folder.glob("*.rejects.parquet")), row_id)
        if kept is None and dropped is None:
            break  # the row did not reach this step
        state = kept or dropped
        if previous is not None:
            what = _changes(previous, state)
        else:
            what = (
                ["read"] if not lineage["steps"] else ["(what it changed is unknown: the rows before it were removed)"]
            )
        what += _rejected(dropped)
        lineage["steps"].append({"step": step["name"], "what": what or ["unchanged"]})
        previous = state
        if dropped is not None:
            break
    return lineage
