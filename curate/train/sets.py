"""What a run trains on and what it is scored on.

Tasks are curated outputs, each with its prompt and mixing weight (one task when the config has no `tasks:`). Each
task's evaluation split is an evaluation set; retain sets are data the fine-tune must not forget: another curated
output, parallel files, languages left out of training, or (with `init_adapter`) what the earlier adapter learned.
Every set is scored with the model before and after the fine-tune, on the same rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curate.core.progress import Reporter
from curate.outputs.manifest import load_manifest
from curate.train.config import Retain, TrainConfig, _DataSource
from curate.train.data import (
    DataError,
    Encoded,
    Examples,
    available_splits,
    build_examples,
    cap_per_language,
    find_last_run,
    read_files,
    read_split,
)

RETAIN, EVAL = "retain", "eval"
EARLIER = "earlier"


@dataclass
class TaskData:
    """One task: its folder, the config with its own `data` and `prompt`, its weight, its dataset's manifest."""

    name: str
    dir: Path
    config: TrainConfig
    weight: float
    manifest: dict[str, Any] | None


@dataclass
class EvalSet:
    """Rows scored together: a task's evaluation split, or a retain set."""

    name: str  # in tables: the split (one task), `task/split` (several), `retain:NAME`
    kind: str  # EVAL or RETAIN
    examples: Examples
    source: str  # the folder or the files it comes from
    split: str | None
    encoded: Encoded | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "source": self.source,
            "split": self.split,
            "rows": len(self.examples),
            "languages": self.examples.languages(),
        }


def with_source(config: TrainConfig, source: _DataSource, folder: str | None) -> TrainConfig:
    """The config as a task or retain set sees it: its folder, columns, languages and prompt."""
    return config.model_copy(
        update={"data": source.resolve(config.data, folder), "prompt": source.prompt or config.prompt}
    )


def resolve_data_dir(config: TrainConfig, override: Path | None = None, root: Path = Path(".")) -> Path:
    if override is not None:
        return Path(override)
    if config.data.dir:
        return Path(config.data.dir)
    last = find_last_run(root)
    if last is None:
        raise DataError(
            "no curated data: run `curate run RECIPE` first, or set `data.dir` in the training config "
            "(or pass --data OUT)"
        )
    return last


def task_list(config: TrainConfig, override: Path | None = None) -> list[TaskData]:
    """The tasks of a run: the config's `tasks`, or one task on `data.dir` (or `--data`, or the last run)."""
    if config.tasks:
        if override is not None:
            raise DataError("--data names one curated output; with `tasks:` each task names its own `data`")
        return [
            TaskData(t.label, Path(t.data), with_source(config, t, t.data), t.weight, load_manifest(Path(t.data)))
            for t in config.tasks
        ]
    folder = resolve_data_dir(config, override)
    single = config.model_copy(update={"data": config.data.model_copy(update={"dir": str(folder)})})
    return [TaskData(folder.name, folder, single, 1.0, load_manifest(folder))]


# ---------------------------------------------------------------------------------------------------------------
# evaluation and retain sets


def eval_sets(tasks: list[TaskData], split: str, reporter: Reporter, required: bool = False) -> list[EvalSet]:
    """Each task's rows of `split` that have a target; a task without that split is left out with a warning (or an
    error when `required`: `curate eval --split` names it)."""
    sets = []
    for task in tasks:
        if split not in available_splits(task.dir):
            message = f"{task.dir}: no split '{split}' (splits: {', '.join(available_splits(task.dir)) or 'none'})"
            if required:
                raise DataError(message)
            reporter.warn(
                message
                + (": training without evaluation" if len(tasks) == 1 else f": task {task.name} is not evaluated")
            )
            continue
        examples = build_examples(read_split(task.dir, split), task.config, evaluation=True, task=task.name)
        examples = cap_per_language(examples, task.config.data.max_eval_rows_per_language)
        if len(examples) == 0:
            reporter.warn(
                f"{task.dir}: split '{split}' has no rows with a '{task.config.data.target_field}': not evaluated"
            )
            continue
        name = split if len(tasks) == 1 else f"{task.name}/{split}"
        sets.append(EvalSet(name, EVAL, examples, task.dir.as_posix(), split))
    return sets


def retain_set(config: TrainConfig, retain: Retain, split: str) -> EvalSet:
    """One retain set's rows, capped per language like the evaluation split."""
    view = with_source(config, retain, retain.data)
    if retain.data is not None:
        used = retain.split or split
        frame, source = read_split(Path(retain.data), used), retain.data
    else:
        used, frame, source = None, read_files(retain.files or ""), retain.files or ""
    examples = build_examples(frame, view, evaluation=True, task=retain.label)
    examples = cap_per_language(examples, retain.max_rows_per_language or config.data.max_eval_rows_per_language)
    if len(examples) == 0:
        raise DataError(
            f"retain set {retain.label} ({source}): no rows with a '{view.data.target_field}'"
            + (f" in languages {', '.join(view.data.langs)}" if view.data.langs else "")
        )
    return EvalSet(f"{RETAIN}:{retain.label}", RETAIN, examples, Path(source).as_posix(), used)


def retain_sets(retains: list[Retain], config: TrainConfig, split: str) -> list[EvalSet]:
    return [retain_set(config, r, split) for r in retains]


# ---------------------------------------------------------------------------------------------------------------
# continual fine-tuning: what an earlier adapter learned becomes a retain set


def trained_as_retain(tasks: list[TaskData], train: Examples) -> list[dict[str, Any]]:
    """What this run trains on, as retain sets a later run (`init_adapter`) checks: per task, its folder, prompt,
    columns and the languages it trained."""
    out = []
    for task in tasks:
        langs = sorted(set(train.langs[train.tasks == task.name].tolist()))
        data = task.config.data
        out.append(
            Retain(
                name=task.name,
                data=task.dir.as_posix(),
                prompt=task.config.prompt,
                input_field=data.input_field,
                target_field=data.target_field,
                target_lang_column=data.target_lang_column,
                target_lang=data.target_lang,
                langs=langs,
            ).model_dump(exclude_none=True)
        )
    return out


def _continual(adapter: Path) -> dict[str, Any]:
    try:
        metrics = json.loads((Path(adapter) / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return metrics.get("continual") or {}


def earlier_retains(adapter: Path, tasks: list[TaskData], train: Examples) -> list[Retain]:
    """The earlier adapter's trained data (as `earlier:NAME`) and its own retain sets, less the languages this run
    trains on the same folder. Empty when the adapter has no curate `metrics.json`."""
    continual = _continual(adapter)
    trained = [Retain(**{**r, "name": f"{EARLIER}:{r['name']}"}) for r in continual.get("trained", [])]
    kept = [Retain(**r) for r in continual.get("retain", [])]
    now = {(task.dir.resolve(), lang) for task in tasks for lang in set(train.langs[train.tasks == task.name].tolist())}
    out = []
    for retain in trained + kept:
        if retain.data is not None and retain.langs:
            langs = [lang for lang in retain.langs if (Path(retain.data).resolve(), lang) not in now]
            if not langs:
                continue
            retain = retain.model_copy(update={"langs": langs})
        out.append(retain)
    return out


def recorded_retains(output: Path) -> list[Retain]:
    """The retain sets a finished run was scored on (`curate eval` scores the same ones)."""
    return [Retain(**r) for r in _continual(output).get("retain", [])]


def all_retains(config: TrainConfig, extra: list[Retain]) -> list[Retain]:
    """The config's retain sets, then the others (the earlier adapter's, a finished run's), without repeats."""
    unique, seen = [], set()
    for retain in [*config.retain, *extra]:
        key = json.dumps(retain.model_dump(exclude={"name"}), sort_keys=True)
        if key not in seen:
            seen.add(key)
            unique.append(retain)
    return unique
