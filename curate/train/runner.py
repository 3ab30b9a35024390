"""`curate train` and `curate eval` end to end: data, model, loop, final evaluation, outputs, card, merge, export.

Output folder (default `out/train/<name>`):

    adapter_model.safetensors, adapter_config.json   the LoRA adapter (`PeftModel.from_pretrained(base, OUTPUT)`)
    (or model.safetensors, config.json)              the model, for `full: true`
    tokenizer files                                  the tokenizer it was trained with
    metrics.json                                     config, data, parameters, schedule, losses, evaluation
    eval_table.md, samples.jsonl                     the per-language table and generated samples
    train_config.yaml                                the resolved config
    README.md                                        the model card (links the dataset card, names the recipe hash)
    merged/, ct2/                                    with --merge / --export ct2
    checkpoints/                                     while training (for --resume); removed at the end
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from curate import __version__
from curate.core.errors import CurateError
from curate.core.progress import Reporter
from curate.io.writers import write_json_atomic, write_text_atomic
from curate.train.compare import compare, markdown
from curate.train.config import Retain, TinyModel, TrainConfig
from curate.train.data import (
    DataError,
    Examples,
    build_examples,
    concat_examples,
    encode,
    mixture_probabilities,
    mixture_shares,
    read_class_weights,
    read_split,
)
from curate.train.evaluate import EvalResult, Evaluator
from curate.train.loop import Checkpoints, LoopSpec, TrainState, load_trainable, plan_steps, train_loop
from curate.train.sets import (
    EVAL,
    EvalSet,
    TaskData,
    all_retains,
    earlier_retains,
    eval_sets,
    retain_sets,
    task_list,
    trained_as_retain,
)

# config keys that do not change the trained weights: a checkpoint stays valid when only these differ
_NOT_TRAINING = (
    "output_dir",
    "merge",
    "export",
    "keep_checkpoints",
    "name",
    "retain",
    "retain_metric",
    "retain_tolerance",
    "retain_earlier",
    "judge",
)
_NOT_TRAINING_EVAL = ("generate", "num_beams", "max_new_tokens", "samples_per_language", "batch_size", "compare_base")


@dataclass
class TrainOptions:
    data: Path | None = None  # overrides data.dir
    output: Path | None = None  # overrides output_dir
    resume: bool = False
    overwrite: bool = False  # replace a finished model trained with another config
    merge: bool = False
    export: str | None = None
    max_steps: int | None = None
    command: str = ""
    config_source: str = ""


@dataclass
class TrainResult:
    output: Path
    metrics: dict[str, Any]
    eval: EvalResult | None  # the fine-tuned model on the (first) evaluation split
    built_tiny: Path | None = None
    notes: list[str] = field(default_factory=list)
    comparison: dict[str, Any] | None = None  # base vs tuned on every set (see curate.train.compare)


# ---------------------------------------------------------------------------------------------------------------
# resolving inputs


def output_dir(config: TrainConfig, override: Path | None = None) -> Path:
    return Path(override or config.output_dir or f"out/train/{config.name}")


def check_output_dir(out: Path, config_hash: str, overwrite: bool) -> str | None:
    """A finished model in `out` trained with another config or data is not replaced unless asked (`--overwrite`):
    two configs of the same `name` write to the same folder. Returns a note when a model is replaced."""
    metrics = out / "metrics.json"
    if not metrics.is_file():
        return None
    try:
        before = json.loads(metrics.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        before = {}
    source = before.get("config_source") or "an unknown config"
    if before.get("config_hash") == config_hash:
        return f"replacing the model in {out} (trained from {source} with the same config and data)"
    if overwrite:
        return f"replacing the model in {out} (trained from {source} with another config or data: --overwrite)"
    raise CurateError(
        f"{out} holds a model trained from {source} with another config or data (finished "
        f"{before.get('finished_at', '?')}); keep both with --out DIR (or `output_dir:` in the config), "
        "or replace it with --overwrite"
    )


def resolve_base(config: TrainConfig, train_texts: Any, reporter: Reporter) -> tuple[str, Path | None]:
    """The base model's name or folder; a `build_tiny` spec is built (once) from the training texts."""
    if isinstance(config.base_model, TinyModel):
        from curate.models.tiny import ensure_tiny

        path, built = ensure_tiny(config.base_model, train_texts)
        if built:
            reporter.info(
                f"built a tiny random {config.base_model.build_tiny} model in {path} (for trying the "
                "pipeline; set base_model to a real model for quality)"
            )
        return str(path), path if built else None
    return config.base_model, None


def training_hash(config: TrainConfig, tasks: list[TaskData]) -> str:
    """What a checkpoint depends on: the training-relevant config, the data's run keys, the adapter it continues."""
    import hashlib

    resolved = config.resolved()
    for key in _NOT_TRAINING:
        resolved.pop(key, None)
    for key in _NOT_TRAINING_EVAL:
        resolved["eval"].pop(key, None)
    resolved["data"].pop("dir", None)  # the folders it names are in `_data`, resolved
    resolved["_data"] = [[str(t.dir.resolve()), (t.manifest or {}).get("run_key")] for t in tasks]
    if config.init_adapter:
        earlier = Path(config.init_adapter) / "metrics.json"
        resolved["_init"] = earlier.read_text(encoding="utf-8") if earlier.is_file() else str(earlier.parent.resolve())
    return hashlib.sha256(json.dumps(resolved, sort_keys=True, default=str).encode()).hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# data


def _describe(examples: Examples) -> str:
    langs = examples.languages()
    shown = ", ".join(f"{k} {v:,}" for k, v in list(langs.items())[:12]) + (", ..." if len(langs) > 12 else "")
    return f"{len(examples):,} rows ({shown})"


# ---------------------------------------------------------------------------------------------------------------
# progress


class LoopProgress:
    """A rich bar on a terminal; elsewhere a line about every tenth of the run."""

    def __init__(self, reporter: Reporter, total: int, start: int):
        self.reporter, self.total, self.bar, self.task = reporter, total, None, None
        self.every = max(1, total // 10)
        if reporter.live:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("training"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=reporter.console,
                transient=True,
            )
            self.task = self.bar.add_task("train", total=total, completed=start, info="")
            self.bar.start()

    def __call__(self, state: Any, info: dict[str, Any]) -> None:
        text = f"loss {info['loss']:.4f} lr {info['lr']:.2e}"
        if "eval" in info:
            ev = info["eval"]
            text += f" | eval loss {ev['loss']:.4f}" + (f" chrF {ev['chrf']:.1f}" if ev.get("chrf") is not None else "")
        if self.bar is not None:
            self.bar.update(self.task, completed=state.step, info=text)
            if "eval" in info:
                self.bar.console.print(f"step {state.step}: {text}", highlight=False, markup=False)
        elif state.step % self.every == 0 or state.step == self.total or "eval" in info:
            self.reporter.info(f"step {state.step}/{self.total}: {text}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


# ---------------------------------------------------------------------------------------------------------------
# training


@dataclass
class RunData:
    """What a run trains on and is scored on."""

    tasks: list[TaskData]
    train: Examples
    class_weights: dict[str, dict | None]
    sets: list[EvalSet]  # the tasks' evaluation splits, then the retain sets
    retains: list[Retain]

    @property
    def eval_sets(self) -> list[EvalSet]:
        return [s for s in self.sets if s.kind == EVAL]


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    base: str
    task: str
    device: str
    dtype: Any
    quantize: str
    trainable: int
    total: int
    built: Path | None


def load_run_data(config: TrainConfig, options: TrainOptions, reporter: Reporter) -> RunData:
    """Every task's training rows (with its class weights), evaluation split and the retain sets."""
    if config.init_adapter:
        from curate.train.model import check_init_adapter

        check_init_adapter(config.init_adapter)
    tasks = task_list(config, options.data)
    weights = {t.name: read_class_weights(t.config.class_weights, t.dir) for t in tasks}
    parts = [
        build_examples(
            read_split(t.dir, t.config.data.train_split),
            t.config,
            weights=weights[t.name],
            limit=t.config.data.max_train_rows,
            task=t.name,
        )
        for t in tasks
    ]
    for task, part in zip(tasks, parts):
        m = task.manifest
        reporter.info(
            f"data: {task.dir}"
            + (f" (recipe {m['name']}, hash {m['recipe_hash'][:12]})" if m else "")
            + (f", task {task.name} (weight {task.weight:g})" if len(tasks) > 1 else "")
        )
        if len(part) == 0:
            raise DataError(
                f"{task.dir}: no training rows with a '{task.config.data.target_field}' in split "
                f"'{task.config.data.train_split}' (skipped: {part.dropped})"
            )
    train = concat_examples(parts)
    reporter.info(f"train: {_describe(train)}" + (f"; skipped {train.dropped}" if train.dropped else ""))
    sets = eval_sets(tasks, config.data.eval_split, reporter) if config.data.eval_split else []
    extra = (
        earlier_retains(Path(config.init_adapter), tasks, train)
        if config.init_adapter and config.retain_earlier
        else []
    )
    retains = all_retains(config, extra)
    sets += retain_sets(retains, config, config.data.eval_split or config.data.test_split)
    for s in sets:
        reporter.info(f"{'eval' if s.kind == EVAL else 'retain'} ({s.name}): {_describe(s.examples)}")
    return RunData(tasks, train, weights, sets, retains)


def load_base_model(config: TrainConfig, run: RunData, reporter: Reporter) -> LoadedModel:
    """The base model with LoRA (a new adapter, or the earlier one with `init_adapter`) or ready for full training."""
    import torch

    from curate.models import hf
    from curate.train import model as models

    base, built = resolve_base(config, lambda: run.train.sources + run.train.targets, reporter)
    device = hf.resolve_device(config.device)
    dtype = models.resolve_dtype(config.precision, device)
    quantize = models.resolve_quantization(config.quantize, device, config.full)
    task = models.detect_task(base, config.task)
    tokenizer = hf.load_tokenizer(base, "base model")
    torch.manual_seed(config.seed)
    model = models.load_model(base, task, device, quantize, dtype)
    models.set_cpu_threads(model, device, config.cpu_threads)
    if config.gradient_checkpointing:
        models.enable_gradient_checkpointing(model)
    if config.init_adapter:
        model = models.continue_adapter(model, config.init_adapter, base)
    elif not config.full:
        model = models.apply_lora(model, config, task, quantize != "none", config.gradient_checkpointing)
    models.apply_freeze(model, config.freeze)
    trainable, total = models.parameter_counts(model)
    method = (
        "full fine-tune"
        if config.full
        else "LoRA" + (f", continuing {config.init_adapter}" if config.init_adapter else "")
    )
    reporter.info(
        f"model: {base} ({task}, {method}: {trainable:,} of {total:,} parameters trainable, "
        f"{trainable / max(total, 1):.2%}; {device}{', ' + str(dtype).replace('torch.', '') if dtype else ''}"
        f"{', ' + quantize if quantize != 'none' else ''})"
    )
    return LoadedModel(model, tokenizer, base, task, device, dtype, quantize, trainable, total, built)


def make_evaluator(config: TrainConfig, loaded: LoadedModel) -> Evaluator:
    e = config.eval
    return Evaluator(
        loaded.tokenizer,
        loaded.task,
        loaded.device,
        loaded.dtype,
        e.batch_size or config.batch_size * 2,
        e.max_new_tokens or config.max_target_length,
        config.max_source_length,
        config.max_target_length,
        e.num_beams,
        e.samples_per_language,
    )


def in_loop_set(run: RunData) -> EvalSet | None:
    """What early stopping watches: every task's evaluation rows together."""
    sets = run.eval_sets
    if not sets:
        return None
    if len(sets) == 1:
        return sets[0]
    return EvalSet("eval", EVAL, concat_examples([s.examples for s in sets]), "", None)


def loop_spec(config: TrainConfig, loaded: LoadedModel, rows: int, evaluate_fn: Any) -> LoopSpec:
    per_epoch, total_steps = plan_steps(
        rows, config.batch_size, config.gradient_accumulation, config.epochs, config.max_steps
    )
    e = config.eval
    return LoopSpec(
        task=loaded.task,
        device=loaded.device,
        dtype=loaded.dtype,
        pad_id=loaded.tokenizer.pad_token_id,
        batch_size=config.batch_size,
        accumulation=config.gradient_accumulation,
        total_steps=total_steps,
        steps_per_epoch=per_epoch,
        learning_rate=config.lr,
        weight_decay=config.weight_decay,
        warmup_steps=round(config.warmup_ratio * total_steps),
        scheduler=config.lr_scheduler,
        max_grad_norm=config.max_grad_norm,
        seed=config.seed,
        eval_every=(e.every_steps or per_epoch) if evaluate_fn is not None else None,
        save_every=config.save_every_steps,
        metric=e.metric,
        patience=e.patience,
        log_every=max(1, min(10, total_steps // 20)),
        evaluate=evaluate_fn,
        metric_needs_generation=e.metric in ("chrf", "bleu"),
    )


def prepare_checkpoints(
    out: Path, options: TrainOptions, config_hash: str, reporter: Reporter
) -> tuple[Checkpoints, list[str]]:
    """The checkpoint folder: cleared for a new run, checked for a resumed one (same config and data)."""
    checkpoints = Checkpoints(out / "checkpoints")
    notes: list[str] = []
    if not options.resume:
        replacing = check_output_dir(out, config_hash, options.overwrite)
        if replacing:
            reporter.info(replacing)
        checkpoints.clear()
        return checkpoints, notes
    saved = checkpoints.read_state()
    if saved is None:
        notes.append("no checkpoint to resume from: training from the start")
        reporter.info(notes[-1])
    elif saved.config_hash != config_hash:
        raise CurateError(
            f"{checkpoints.last}: the checkpoint was made with another config or data; "
            "run without --resume to start again"
        )
    else:
        reporter.info(f"resuming from step {saved.step} of {saved.total_steps}")
    return checkpoints, notes


def train_model(
    config: TrainConfig,
    options: TrainOptions,
    run: RunData,
    loaded: LoadedModel,
    evaluator: Evaluator,
    checkpoints: Checkpoints,
    config_hash: str,
    reporter: Reporter,
) -> tuple[TrainState, int]:
    """The loop, from the start or the last checkpoint; the best evaluated weights are kept (`eval.load_best`)."""
    watched = in_loop_set(run)
    evaluate_fn = (lambda generate: evaluator(loaded.model, watched, generate)) if watched is not None else None
    train_enc = encode(
        run.train,
        loaded.tokenizer,
        loaded.task,
        config.max_source_length,
        config.max_target_length,
        config.train_on_prompt,
    )
    weights = {t.name: t.weight for t in run.tasks}
    probabilities = mixture_probabilities(run.train.tasks, run.train.groups, weights, config.sampling.temperature)
    spec = loop_spec(config, loaded, len(run.train), evaluate_fn)
    state = TrainState(total_steps=spec.total_steps, config_hash=config_hash)
    reporter.info(
        f"training: {spec.total_steps} steps ({spec.steps_per_epoch} per epoch), batch {config.batch_size} x "
        f"{config.gradient_accumulation}, lr {config.lr:g}"
    )
    progress = LoopProgress(reporter, spec.total_steps, 0)
    try:
        state = train_loop(
            loaded.model,
            train_enc,
            run.train.weights,
            probabilities,
            spec,
            checkpoints,
            state,
            options.resume,
            progress,
        )
    finally:
        progress.close()
    e = config.eval
    if state.stopped_early:
        reporter.info(f"stopped early at step {state.step}: no better {e.metric} for {e.patience} evaluations")
    if e.load_best and state.best_step is not None and state.best_step != state.step and checkpoints.best.is_file():
        load_trainable(loaded.model, checkpoints.best)
        reporter.info(f"keeping the weights of step {state.best_step} (best {e.metric}: {state.best_value})")
    return state, train_enc.truncated


def reference_name(config: TrainConfig) -> str:
    """What "base" is in the tables: the base model, or the base with the adapter a continual run started from."""
    if config.init_adapter:
        return f"the base model with the earlier adapter `{config.init_adapter}`"
    return "the base model"


def score_sets(
    config: TrainConfig, run: RunData, loaded: LoadedModel, evaluator: Evaluator, reporter: Reporter, what: str
) -> dict[str, EvalResult] | None:
    """Every set scored (with generated outputs when `eval.generate`) by the model as it is now."""
    if not run.sets:
        return None
    rows = sum(len(s.examples) for s in run.sets)
    reporter.info(
        f"scoring {what} on {len(run.sets)} set(s), {rows:,} rows"
        + (", generating outputs" if config.eval.generate else "")
    )
    return {s.name: evaluator(loaded.model, s, config.eval.generate) for s in run.sets}


def run_training(config: TrainConfig, options: TrainOptions, reporter: Reporter | None = None) -> TrainResult:
    from curate.models.hf import quiet_libraries, require

    require()
    reporter = reporter or Reporter(quiet=True)
    quiet_libraries()
    if options.max_steps is not None:
        config = config.model_copy(update={"max_steps": options.max_steps})
    run = load_run_data(config, options, reporter)
    loaded = load_base_model(config, run, reporter)
    evaluator = make_evaluator(config, loaded)
    out = output_dir(config, options.output)
    config_hash = training_hash(config, run.tasks)
    checkpoints, notes = prepare_checkpoints(out, options, config_hash, reporter)
    base_results = None  # scored before the first step: the base model (with the earlier adapter, if continued)
    if config.eval.compare_base:
        base_results = score_sets(config, run, loaded, evaluator, reporter, reference_name(config).replace("`", ""))
    state, truncated = train_model(config, options, run, loaded, evaluator, checkpoints, config_hash, reporter)
    tuned = score_sets(config, run, loaded, evaluator, reporter, "the fine-tuned model")
    comparison = (
        compare(
            run.sets,
            tuned,
            base_results,
            metric=config.retain_metric,
            tolerance=config.retain_tolerance,
            reference=reference_name(config),
        )
        if tuned
        else None
    )
    out.mkdir(parents=True, exist_ok=True)
    remove_previous_outputs(out)
    loaded.model.save_pretrained(out)
    loaded.tokenizer.save_pretrained(out)
    metrics = build_metrics(config, options, run, loaded, state, truncated, config_hash)
    metrics["eval"] = tuned[run.eval_sets[0].name].to_json() if tuned and run.eval_sets else {}
    metrics["comparison"] = comparison
    write_outputs(out, config, metrics, samples(run.sets, tuned, base_results))
    merge_and_export(config, options, out, loaded, reporter)
    if not config.keep_checkpoints:
        checkpoints.clear()
    first = tuned[run.eval_sets[0].name] if tuned and run.eval_sets else None
    return TrainResult(out, metrics, first, loaded.built, notes, comparison)


def merge_and_export(
    config: TrainConfig, options: TrainOptions, out: Path, loaded: LoadedModel, reporter: Reporter
) -> None:
    """`merged/` (base + adapter in one model) and `ct2/` (for CTranslate2), when asked for."""
    merge = options.merge or config.merge
    export = options.export or (config.export if config.export != "none" else None)
    if export == "ct2" and not config.full:
        merge = True
    if merge and not config.full:
        from curate.train.export import merge_adapter

        merged = merge_adapter(out, loaded.base, loaded.task, out / "merged", loaded.tokenizer)
        reporter.info(f"merged model: {merged}")
    if export == "ct2":
        from curate.train.export import export_ct2

        converted = export_ct2(out / "merged" if not config.full else out, out / "ct2")
        reporter.info(f"CTranslate2 model: {converted}")


def samples(sets: list[EvalSet], tuned: dict[str, EvalResult] | None, base: dict[str, EvalResult] | None) -> list[dict]:
    """A few generated outputs per set and language, with the base model's output for the same input."""
    out = []
    for s in sets if tuned else []:
        before = base[s.name].samples if base else [None] * len(tuned[s.name].samples)
        for after, earlier in zip(tuned[s.name].samples, before):
            out.append({"set": s.name, **after, **({"base_output": earlier["output"]} if earlier else {})})
    return out


_WEIGHT_FILES = (
    "adapter_config.json",
    "adapter_model.safetensors",
    "adapter_model.bin",
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
)


_STALE = (
    "model-*-of-*.safetensors",
    "eval-*.json",
    "eval-*.md",
    "outputs-*.jsonl",
    "judge.jsonl",
    "ratings.json",
    "ratings.md",
)


def remove_previous_outputs(out: Path) -> None:
    """What an earlier run left in the folder (an adapter where a full model now goes, old evaluations, ratings of
    its outputs...), so the folder holds one run's outputs only. Checkpoints are handled apart (kept for --resume)."""
    for name in _WEIGHT_FILES:
        (out / name).unlink(missing_ok=True)
    for pattern in _STALE:
        for path in out.glob(pattern):
            path.unlink()
    for stale in ("merged", "ct2", "ratings"):
        shutil.rmtree(out / stale, ignore_errors=True)


def _data_metrics(config: TrainConfig, run: RunData, truncated: int) -> dict[str, Any]:
    """The data section of metrics.json: the first task's dataset at the top (one task: the only one), each task."""
    weights = {t.name: t.weight for t in run.tasks}
    shares = mixture_shares(run.train.tasks, run.train.groups, weights, config.sampling.temperature)
    tasks = []
    for t in run.tasks:
        rows = run.train.frame.filter(run.train.frame["task"] == t.name)
        card, manifest = t.dir / "README.md", t.manifest or {}
        tasks.append(
            {
                "name": t.name,
                "dir": t.dir.as_posix(),
                "name_in_manifest": manifest.get("name"),
                "recipe_hash": manifest.get("recipe_hash"),
                "card": card.as_posix() if card.is_file() else None,
                "prompt": t.config.prompt,
                "weight": t.weight,
                "rows": rows.height,
                "languages": Examples(rows).languages(),
                "sampling_shares": shares[t.name],
                "class_weights": run.class_weights[t.name] is not None,
            }
        )
    first = tasks[0]
    evaluated = run.eval_sets
    flat = {f"{task}/{lang}": share for task, langs in shares.items() for lang, share in langs.items()}
    return {
        "dir": first["dir"],
        "name": first["name_in_manifest"],
        "recipe_hash": first["recipe_hash"],
        "card": first["card"],
        "train_split": config.data.train_split,
        "train_rows": len(run.train),
        "languages": run.train.languages(),
        "skipped": run.train.dropped,
        "truncated_inputs": truncated,
        "sampling_shares": shares[first["name"]] if len(tasks) == 1 else flat,
        "class_weights": any(t["class_weights"] for t in tasks),
        "tasks": tasks,
        "eval_split": config.data.eval_split if evaluated else None,
        "eval_rows": sum(len(s.examples) for s in evaluated),
    }


def build_metrics(
    config: TrainConfig,
    options: TrainOptions,
    run: RunData,
    loaded: LoadedModel,
    state: TrainState,
    truncated: int,
    config_hash: str = "",
) -> dict[str, Any]:
    from curate.outputs.manifest import versions

    history = state.history
    epochs = state.step * config.batch_size * config.gradient_accumulation / max(len(run.train), 1)
    share = round(loaded.trainable / max(loaded.total, 1), 6)
    return {
        "curate_version": __version__,
        "command": options.command,
        "config_source": options.config_source,
        "config_hash": config_hash,
        "config": config.resolved(),
        "base_model": loaded.base,
        "task": loaded.task,
        "method": config.method,
        "device": loaded.device,
        "quantize": loaded.quantize,
        "learning_rate": config.lr,
        "precision": str(loaded.dtype).replace("torch.", "") if loaded.dtype is not None else "fp32",
        "parameters": {"trainable": loaded.trainable, "total": loaded.total, "trainable_share": share},
        "data": _data_metrics(config, run, truncated),
        "continual": {
            "init_adapter": config.init_adapter,
            "trained": trained_as_retain(run.tasks, run.train),
            "retain": [r.model_dump(exclude_none=True) for r in run.retains],
        },
        "train": {
            "steps": state.step,
            "total_steps": state.total_steps,
            "epochs": round(epochs, 3),
            "seconds": round(state.seconds, 3),
            "stopped_early": state.stopped_early,
            "resumed_from": state.resumed_from,
            "first_loss": history[0]["loss"] if history else None,
            "final_loss": history[-1]["loss"] if history else None,
            "best_step": state.best_step,
            "best_value": state.best_value,
            "history": history,
            "evals": state.evals,
        },
        "versions": versions(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def write_outputs(out: Path, config: TrainConfig, metrics: dict[str, Any], samples_: list[dict]) -> None:
    from curate.train.card import write_card

    write_text_atomic(out / "train_config.yaml", yaml.safe_dump(config.resolved(), sort_keys=False, allow_unicode=True))
    if metrics.get("comparison"):
        write_text_atomic(out / "eval_table.md", markdown(metrics["comparison"]))
        write_text_atomic(out / "samples.jsonl", jsonl(samples_))
    write_json_atomic(out / "metrics.json", metrics)
    write_card(out)


# ---------------------------------------------------------------------------------------------------------------
# curate eval


@dataclass
class EvalRun:
    """What `curate eval` scored and wrote."""

    split: str
    dest: Path
    comparison: dict[str, Any]
    tuned: dict[str, EvalResult]
    judged: list[dict[str, Any]] = field(default_factory=list)  # judge.jsonl
    rated: int = 0  # outputs queued for human rating


def base_name(config: TrainConfig, folder: Path) -> str:
    """The base model a finished run was trained from: the config's, else the adapter's own record."""
    from curate.train import model as models

    if isinstance(config.base_model, TinyModel):
        return config.base_model.path
    if config.base_model:
        return config.base_model
    return models.adapter_base(folder) or str(folder)


def evaluation_sets(
    config: TrainConfig, folder: Path, split: str, options: TrainOptions, max_rows: int | None
) -> list[EvalSet]:
    """The split of every task and the retain sets the run was scored on (and the config's), at most `max_rows`
    rows per language."""
    from curate.train.sets import recorded_retains

    if max_rows is not None:
        config = config.model_copy(
            update={"data": config.data.model_copy(update={"max_eval_rows_per_language": max_rows})}
        )
    tasks = task_list(config, options.data)
    retains = all_retains(config, recorded_retains(folder))
    if max_rows is not None:
        retains = [r.model_copy(update={"max_rows_per_language": max_rows}) for r in retains]
    sets = eval_sets(tasks, split, Reporter(quiet=True), required=True) + retain_sets(retains, config, split)
    if not sets:
        raise DataError(f"split '{split}' has no rows with a '{config.data.target_field}' to evaluate")
    return sets


def load_finished(config: TrainConfig, folder: Path) -> LoadedModel:
    """A finished run's model (base + adapter, or the full fine-tune) and tokenizer."""
    from curate.models import hf
    from curate.train import model as models

    base = base_name(config, folder)
    device = hf.resolve_device(config.device)
    task = models.detect_task(base if models.is_adapter(folder) else str(folder), config.task)
    model = models.load_trained(folder, base, task, device)
    models.set_cpu_threads(model, device, config.cpu_threads)
    trainable, total = models.parameter_counts(model)
    return LoadedModel(
        model,
        hf.load_tokenizer(str(folder), "base model"),
        base,
        task,
        device,
        models.resolve_dtype(config.precision, device),
        "none",
        trainable,
        total,
        None,
    )


def run_evaluation(
    config: TrainConfig,
    adapter: Path,
    split: str | None,
    options: TrainOptions,
    reporter: Reporter | None = None,
    max_rows_per_language: int | None = None,
    judge: Any = None,
    rate: int | None = None,
) -> EvalRun:
    """Score a finished run on a split and its retain sets, before and after the fine-tune; optionally have an LLM
    judge the outputs and queue a sample for human rating. Writes eval-SPLIT.json/.md and outputs-SPLIT.jsonl."""
    from curate.models.hf import quiet_libraries, require

    require()
    reporter = reporter or Reporter(quiet=True)
    quiet_libraries()
    adapter = Path(adapter)
    if not adapter.is_dir():
        raise CurateError(f"{adapter}: no such folder (pass the output folder of `curate train`)")
    split = split or config.data.test_split
    sets = evaluation_sets(config, adapter, split, options, max_rows_per_language)
    loaded = load_finished(config, adapter)
    evaluator = make_evaluator(config, loaded)
    for s in sets:
        reporter.info(f"{'eval' if s.kind == EVAL else 'retain'} ({s.name}): {_describe(s.examples)}")
    reporter.info(f"scoring the fine-tuned model in {adapter}")
    tuned = evaluator.all(loaded.model, sets)
    base = score_reference(config, loaded, evaluator, sets, reporter) if config.eval.compare_base else None
    dest = Path(options.output or adapter)
    dest.mkdir(parents=True, exist_ok=True)
    judged, judged_by = judge_and_record(judge, sets, tuned, base, dest, split, reporter) if judge else ([], None)
    comparison = compare(
        sets,
        tuned,
        base,
        metric=config.retain_metric,
        tolerance=config.retain_tolerance,
        reference=reference_name(config),
    )
    rows = output_rows(sets, tuned, base)
    write_evaluation(dest, adapter, loaded.base, split, comparison, tuned, rows, judged_by)
    rated = queue_ratings(dest, config, rows, judged, rate) if rate else 0
    return EvalRun(split, dest, comparison, tuned, judged, rated)


def score_reference(
    config: TrainConfig, loaded: LoadedModel, evaluator: Evaluator, sets: list[EvalSet], reporter: Reporter
) -> dict[str, EvalResult]:
    """The model before the fine-tune on the same rows: the base, or the base with the adapter it continued."""
    from curate.train.model import check_init_adapter, reference_model

    if config.init_adapter:
        check_init_adapter(config.init_adapter)  # it must still be there
    reporter.info(f"scoring {reference_name(config)} on the same rows")
    with reference_model(loaded.model, loaded.base, loaded.task, loaded.device, config.init_adapter) as reference:
        return evaluator.all(reference, sets)


def judge_and_record(
    judge: Any,
    sets: list[EvalSet],
    tuned: dict[str, EvalResult],
    base: dict[str, EvalResult] | None,
    dest: Path,
    split: str,
    reporter: Reporter,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The judge's verdicts on the outputs (judge.jsonl) and what the card says of it; its means go into the results."""
    from curate.train.judge import run_judge, set_means, summary

    models = {"tuned": tuned, **({"base": base} if base is not None and judge.base else {})}
    records = run_judge(judge, sets, models, split, reporter)
    set_means(records, models)
    write_text_atomic(dest / "judge.jsonl", jsonl(records))
    return records, summary(judge, records)


def output_rows(sets: list[EvalSet], tuned: dict[str, EvalResult], base: dict[str, EvalResult] | None) -> list[dict]:
    """Every scored row with the fine-tuned output and the base model's."""
    rows = []
    for s in sets:
        ex = s.examples
        before = base[s.name].outputs if base else None
        for i, (row_id, lang, text, ref) in enumerate(zip(ex.frame["_id"].to_list(), ex.langs, ex.inputs, ex.targets)):
            rows.append(
                {
                    "set": s.name,
                    "_id": row_id,
                    "lang": str(lang),
                    "input": text,
                    "reference": ref,
                    "output": tuned[s.name].outputs[i],
                    **({"base_output": before[i]} if before else {}),
                }
            )
    return rows


def write_evaluation(
    dest: Path,
    adapter: Path,
    base: str,
    split: str,
    comparison: dict[str, Any],
    tuned: dict[str, EvalResult],
    rows: list[dict],
    judge: dict[str, Any] | None,
) -> None:
    from curate.train.card import write_card

    detail = {name: result.to_json() for name, result in tuned.items()}
    write_json_atomic(
        dest / f"eval-{split}.json",
        {
            "adapter": adapter.as_posix(),
            "base_model": base,
            "split": split,
            "comparison": comparison,
            "judge": judge,
            "tuned": detail,
        },
    )
    write_text_atomic(dest / f"eval-{split}.md", markdown(comparison))
    write_text_atomic(dest / f"outputs-{split}.jsonl", jsonl(rows))
    if (dest / "metrics.json").is_file():
        write_card(dest)


def queue_ratings(
    dest: Path, config: TrainConfig, rows: list[dict[str, Any]], judged: list[dict[str, Any]], per_language: int
) -> int:
    """A sample of the fine-tuned outputs per language, with the judge's score as a suggestion, for native speakers
    (`curate review push DEST` or `curate review export DEST FILE`)."""
    from curate.review.ratings import write_rating_queue

    return write_rating_queue(dest, rows, judged, per_language, name=config.name, seed=config.seed)
