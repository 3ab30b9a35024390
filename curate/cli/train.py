"""The `curate train` and `curate eval` commands (`curate.cli` adds them to the app).

Heavy imports wait until a command runs, so `curate --help` stays fast and works without the `train` extra.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

DEFAULT_CONFIG_FILE = Path("train/default.yaml")


def resolve_config(path: Path | None, root: Path = Path(".")) -> tuple[Any, str]:
    """The config to train with, and where it came from. With no path: the `train:` section of the recipe of the last
    `curate run` here, else `train/default.yaml`, else the built-in default (the same as that file)."""
    import yaml

    from curate.outputs.manifest import load_manifest
    from curate.train.config import DEFAULT_CONFIG, load_config, parse_config
    from curate.train.data import find_last_run

    if path is not None:
        return load_config(path), str(path)
    last = find_last_run(root)
    manifest = load_manifest(last) if last else None
    if manifest:
        # The recipe file as it is now (its `train:` section may have been edited since the run, which does not
        # change the curated data), else the section the run recorded.
        section = (manifest.get("recipe") or {}).get("train")
        recipe_file = Path(manifest.get("recipe_file") or "")
        text = None
        if recipe_file.is_file():
            text = recipe_file.read_text(encoding="utf-8")
            raw = yaml.safe_load(text)
            section = raw.get("train") if isinstance(raw, dict) else None
        if section is not None:
            source = f"{recipe_file.as_posix()} (train:)"
            return parse_config(section, recipe_file.as_posix(), text, prefix=("train",)), source
    default = root / DEFAULT_CONFIG_FILE
    if default.is_file():
        return load_config(default), default.as_posix()
    return parse_config(DEFAULT_CONFIG, "built-in default"), "built-in default"


def print_comparison(comparison: dict[str, Any], title: str) -> None:
    """The base/tuned table, one section per set, and a warning line per retain row that was forgotten."""
    from curate.train.compare import forgetting_lines, table

    head, rows, ends = table(comparison)
    grid = Table(title=title, title_justify="left", show_edge=False)
    for i, name in enumerate(head):
        grid.add_column(name, justify="right" if i >= 3 else "left", no_wrap=i >= 3)
    for i, row in enumerate(rows):
        grid.add_row(*row, end_section=i in ends)
    (out if out.is_terminal else Console(soft_wrap=True, width=240)).print(grid)  # a pipe or a log gets whole rows
    for line in forgetting_lines(comparison):
        err.print(f"warning: {line.replace('`', '')}", style="yellow", highlight=False, markup=False)


def _title(comparison: dict[str, Any]) -> str:
    what = "base → fine-tuned" if comparison["compared"] else "fine-tuned"
    return f"{what}, per set and language (loss per token; chrF, BLEU of generated outputs)"


def _command_line(name: str) -> str:
    args = sys.argv[1:]
    if args[:1] == [name]:
        return f"curate {name} " + " ".join(shlex.quote(a) for a in args[1:])
    return ""


def train(
    config: Path | None = typer.Argument(
        None,
        metavar="CONFIG",
        help="training config YAML (default: the recipe's `train:` section "
        "of the last run here, else train/default.yaml)",
    ),
    data: Path | None = typer.Option(
        None, "--data", help="curate output folder (default: data.dir, else the last run)"
    ),
    out_dir: Path | None = typer.Option(None, "--out", help="output folder (default: output_dir, else out/train/NAME)"),
    resume: bool = typer.Option(False, "--resume", help="continue from the last checkpoint of an interrupted run"),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="replace a model in the output folder that was trained with another config or data"
    ),
    merge: bool = typer.Option(
        False, "--merge", help="also write the base model with the adapter merged in (OUT/merged)"
    ),
    export: str | None = typer.Option(
        None, "--export", help="`ct2`: convert the merged model for CTranslate2 (OUT/ct2)"
    ),
    max_steps: int | None = typer.Option(None, "--max-steps", min=1, help="override the number of optimizer steps"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress output"),
) -> None:
    """Fine-tune a base model with LoRA (or fully) on curated shards; evaluate per language; write adapter and card."""
    from curate.core.errors import CurateError
    from curate.core.progress import Reporter
    from curate.train.runner import TrainOptions, run_training

    if export not in (None, "ct2", "none"):
        raise CurateError(f"--export: unknown format {export!r} (formats: ct2)")
    cfg, source = resolve_config(config)
    reporter = Reporter(err, quiet=quiet)
    reporter.info(f"config: {source}")
    options = TrainOptions(
        data=data,
        output=out_dir,
        resume=resume,
        overwrite=overwrite,
        merge=merge,
        export=None if export == "none" else export,
        max_steps=max_steps,
        command=_command_line("train"),
        config_source=source,
    )
    result = run_training(cfg, options, reporter)
    m = result.metrics
    if result.comparison is not None:
        print_comparison(result.comparison, _title(result.comparison))
    first, final = m["train"]["first_loss"], m["train"]["final_loss"]
    losses = f"; training loss {first:.3f} -> {final:.3f}" if first is not None and final is not None else ""
    err.print(
        f"wrote {result.output}: {m['method']} on {m['base_model']}, {m['train']['steps']} steps in "
        f"{m['train']['seconds']:.1f}s{losses}",
        highlight=False,
        markup=False,
    )


def evaluate(
    config: Path | None = typer.Argument(
        None, metavar="CONFIG", help="training config YAML (default: the adapter's train_config.yaml)"
    ),
    adapter: Path = typer.Option(..., "--adapter", help="output folder of `curate train` (adapter or full model)"),
    split: str | None = typer.Option(None, "--split", help="split to evaluate (default: the config's data.test_split)"),
    data: Path | None = typer.Option(
        None, "--data", help="curate output folder (default: data.dir, else the last run)"
    ),
    out_dir: Path | None = typer.Option(
        None, "--out", help="where eval-SPLIT.json/.md go (default: the adapter folder)"
    ),
    max_rows: int | None = typer.Option(None, "--max-rows", min=1, help="at most this many rows per language"),
    judge: bool = typer.Option(False, "--judge", help="an LLM rates the outputs (the config's `judge:` section)"),
    judge_url: str | None = typer.Option(
        None,
        "--judge-url",
        help="OpenAI-compatible endpoint of the judge (instead of `judge.base_url`; implies --judge)",
    ),
    judge_model: str | None = typer.Option(None, "--judge-model", help="the judge model (instead of `judge.model`)"),
    rate: int | None = typer.Option(
        None,
        "--rate",
        min=1,
        help="queue N outputs per language for native speakers "
        "to rate (then `curate review push DIR` or `export DIR FILE`)",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress output"),
) -> None:
    """Score a finished fine-tune against its base model per set and language; optionally judge and queue ratings."""
    from curate.core.errors import CurateError
    from curate.core.progress import Reporter
    from curate.train.config import load_config
    from curate.train.runner import TrainOptions, run_evaluation

    if config is not None:
        cfg = load_config(config)
    elif (adapter / "train_config.yaml").is_file():
        cfg = load_config(adapter / "train_config.yaml")
    else:
        raise CurateError(
            f"{adapter}: no train_config.yaml inside; pass the training config: curate eval CONFIG --adapter DIR"
        )
    judge_cfg = judge_settings(cfg, judge_url, judge_model) if judge or judge_url or judge_model else None
    reporter = Reporter(err, quiet=quiet)
    done = run_evaluation(
        cfg, adapter, split, TrainOptions(data=data, output=out_dir), reporter, max_rows, judge_cfg, rate
    )
    print_comparison(done.comparison, f"{done.split}: " + _title(done.comparison))
    wrote = f"wrote {done.dest}/eval-{done.split}.json, .md and outputs-{done.split}.jsonl"
    if done.judged:
        wrote += ", judge.jsonl"
    err.print(wrote, highlight=False, markup=False)
    if done.rated:
        err.print(
            f"queued {done.rated:,} outputs for rating in {done.dest}/ratings; send them to Argilla with "
            f"`curate review push {done.dest}` (or `curate review export {done.dest} ratings.csv`)",
            highlight=False,
            markup=False,
        )


def judge_settings(config: Any, url: str | None, model: str | None) -> Any:
    """The judge: the config's `judge:` section, with the command line's endpoint and model over it."""
    from curate.core.errors import CurateError
    from curate.train.config import Judge, TrainConfigError

    if config.judge is None and not (url and model):
        raise CurateError(
            "--judge needs a `judge:` section in the training config (model, base_url or backend: "
            "local), or both --judge-url and --judge-model"
        )
    settings = config.judge.model_dump(exclude_unset=True) if config.judge is not None else {}
    if url:
        settings.update(backend="http", base_url=url)
    if model:
        settings["model"] = model
    try:
        return Judge.model_validate(settings)
    except ValueError as exc:
        raise TrainConfigError(f"judge: {exc}") from None
