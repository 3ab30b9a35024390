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
from curate.errors import CurateError
from curate.io.writers import write_json_atomic, write_text_atomic
from curate.manifest import load_manifest
from curate.progress import Reporter
from curate.train.config import TinyModel, TrainConfig
from curate.train.data import (
    DataError,
    Examples,
    available_splits,
    build_examples,
    cap_per_language,
    encode,
    find_last_run,
    language_probabilities,
    language_shares,
    read_class_weights,  # fmt: skip
    read_split,
)
from curate.train.evaluate import EvalResult, evaluate, markdown_table

# config keys that do not change the trained weights: a checkpoint stays valid when only these differ
_NOT_TRAINING = ("output_dir", "merge", "export", "keep_checkpoints", "name")
_NOT_TRAINING_EVAL = ("generate", "num_beams", "max_new_tokens", "samples_per_language", "batch_size")


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
    eval: EvalResult | None
    built_tiny: Path | None = None
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------------------
# resolving inputs


def resolve_data_dir(config: TrainConfig, override: Path | None = None, root: Path = Path(".")) -> Path:
    if override is not None:
        return Path(override)
    if config.data.dir:
        return Path(config.data.dir)
    last = find_last_run(root)
    if last is None:
        raise DataError("no curated data: run `curate run RECIPE` first, or set `data.dir` in the training config "
                        "(or pass --data OUT)")  # fmt: skip
    return last


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
    raise CurateError(f"{out} holds a model trained from {source} with another config or data (finished "
                      f"{before.get('finished_at', '?')}); keep both with --out DIR (or `output_dir:` in the config), "
                      "or replace it with --overwrite")  # fmt: skip


def resolve_base(config: TrainConfig, train_texts: Any, reporter: Reporter) -> tuple[str, Path | None]:
    """The base model's name or folder; a `build_tiny` spec is built (once) from the training texts."""
    if isinstance(config.base_model, TinyModel):
        from curate.models.tiny import ensure_tiny

        path, built = ensure_tiny(config.base_model, train_texts)
        if built:
            reporter.info(f"built a tiny random {config.base_model.build_tiny} model in {path} (for trying the "
                          "pipeline; set base_model to a real model for quality)")  # fmt: skip
        return str(path), path if built else None
    return config.base_model, None


def training_hash(config: TrainConfig, data_dir: Path, manifest: dict[str, Any] | None) -> str:
    """What a checkpoint depends on: the training-relevant config and the data's run key."""
    import hashlib

    resolved = config.resolved()
    for key in _NOT_TRAINING:
        resolved.pop(key, None)
    for key in _NOT_TRAINING_EVAL:
        resolved["eval"].pop(key, None)
    resolved["data"].pop("dir", None)  # the folder it names is in `_data`, resolved
    resolved["_data"] = [str(data_dir.resolve()), (manifest or {}).get("run_key")]
    return hashlib.sha256(json.dumps(resolved, sort_keys=True, default=str).encode()).hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# data


def load_examples(config: TrainConfig, data_dir: Path, reporter: Reporter) -> tuple[Examples, Examples | None, dict | None]:
    weights = read_class_weights(config.class_weights, data_dir)
    train = build_examples(read_split(data_dir, config.data.train_split), config, weights=weights,
                           limit=config.data.max_train_rows)  # fmt: skip
    if len(train) == 0:
        raise DataError(f"{data_dir}: no training rows with a '{config.data.target_field}' in split "
                        f"'{config.data.train_split}' (skipped: {train.dropped})")  # fmt: skip
    evaluation = None
    split = config.data.eval_split
    if split:
        if split in available_splits(data_dir):
            evaluation = build_examples(read_split(data_dir, split), config, evaluation=True)
            evaluation = cap_per_language(evaluation, config.data.max_eval_rows_per_language)
            if len(evaluation) == 0:
                reporter.warn(f"split '{split}' has no rows with a target: no evaluation")
                evaluation = None
        else:
            reporter.warn(f"{data_dir}: no split '{split}' (splits: {', '.join(available_splits(data_dir))}): "
                          "training without evaluation")  # fmt: skip
    return train, evaluation, weights


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

            self.bar = Progress(TextColumn("training"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                                TimeElapsedColumn(), TimeRemainingColumn(), console=reporter.console, transient=True)  # fmt: skip
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


def run_training(config: TrainConfig, options: TrainOptions, reporter: Reporter | None = None) -> TrainResult:
    from curate.models.hf import require

    require()
    import torch

    from curate.models import hf
    from curate.train import model as models
    from curate.train.loop import Checkpoints, LoopSpec, TrainState, plan_steps, train_loop

    reporter = reporter or Reporter(quiet=True)
    hf.quiet_libraries()
    if options.max_steps is not None:
        config = config.model_copy(update={"max_steps": options.max_steps})
    data_dir = resolve_data_dir(config, options.data)
    manifest = load_manifest(data_dir)
    out = output_dir(config, options.output)
    reporter.info(f"data: {data_dir}" + (f" (recipe {manifest['name']}, hash {manifest['recipe_hash'][:12]})" if manifest else ""))

    train_ex, eval_ex, class_weights = load_examples(config, data_dir, reporter)
    reporter.info(f"train: {_describe(train_ex)}" + (f"; skipped {train_ex.dropped}" if train_ex.dropped else ""))
    if eval_ex is not None:
        reporter.info(f"eval ({config.data.eval_split}): {_describe(eval_ex)}")

    base, built = resolve_base(config, lambda: train_ex.sources + train_ex.targets, reporter)
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
    if not config.full:
        model = models.apply_lora(model, config, task, quantize != "none", config.gradient_checkpointing)
    models.apply_freeze(model, config.freeze)
    trainable, total = models.parameter_counts(model)
    method = "LoRA" if not config.full else "full fine-tune"
    reporter.info(f"model: {base} ({task}, {method}: {trainable:,} of {total:,} parameters trainable, "
                  f"{trainable / max(total, 1):.2%}; {device}{', ' + str(dtype).replace('torch.', '') if dtype else ''}"
                  f"{', ' + quantize if quantize != 'none' else ''})")  # fmt: skip

    max_src, max_tgt = config.max_source_length, config.max_target_length
    train_enc = encode(train_ex, tokenizer, task, max_src, max_tgt, config.train_on_prompt)
    eval_enc = encode(eval_ex, tokenizer, task, max_src, max_tgt) if eval_ex is not None else None
    probabilities = language_probabilities(train_ex.groups, config.sampling.temperature)

    per_epoch, total_steps = plan_steps(len(train_ex), config.batch_size, config.gradient_accumulation, config.epochs,
                                        config.max_steps)  # fmt: skip
    eval_cfg = config.eval
    eval_batch = eval_cfg.batch_size or config.batch_size * 2
    max_new = eval_cfg.max_new_tokens or max_tgt

    def run_eval(generate_outputs: bool) -> EvalResult:
        return evaluate(model, tokenizer, eval_ex, eval_enc, task, device, dtype, split=config.data.eval_split,
                        batch_size=eval_batch, generate_outputs=generate_outputs, max_new_tokens=max_new,
                        num_beams=eval_cfg.num_beams, samples_per_language=eval_cfg.samples_per_language)  # fmt: skip

    spec = LoopSpec(
        task=task, device=device, dtype=dtype, pad_id=tokenizer.pad_token_id, batch_size=config.batch_size,
        accumulation=config.gradient_accumulation, total_steps=total_steps, steps_per_epoch=per_epoch,
        learning_rate=config.lr, weight_decay=config.weight_decay,
        warmup_steps=round(config.warmup_ratio * total_steps), scheduler=config.lr_scheduler,
        max_grad_norm=config.max_grad_norm, seed=config.seed,
        eval_every=(eval_cfg.every_steps or per_epoch) if eval_ex is not None else None,
        save_every=config.save_every_steps, metric=eval_cfg.metric, patience=eval_cfg.patience,
        log_every=max(1, min(10, total_steps // 20)), evaluate=run_eval if eval_ex is not None else None,
        metric_needs_generation=eval_cfg.metric in ("chrf", "bleu"),
    )  # fmt: skip
    checkpoints = Checkpoints(out / "checkpoints")
    config_hash = training_hash(config, data_dir, manifest)
    if not options.resume:
        replacing = check_output_dir(out, config_hash, options.overwrite)
        if replacing:
            reporter.info(replacing)
    notes: list[str] = []
    if options.resume:
        saved = checkpoints.read_state()
        if saved is None:
            notes.append("no checkpoint to resume from: training from the start")
        elif saved.config_hash != config_hash:
            raise CurateError(f"{checkpoints.last}: the checkpoint was made with another config or data; "
                              "run without --resume to start again")  # fmt: skip
        else:
            reporter.info(f"resuming from step {saved.step} of {saved.total_steps}")
    else:
        checkpoints.clear()
    for note in notes:
        reporter.info(note)
    state = TrainState(total_steps=total_steps, config_hash=config_hash)
    reporter.info(f"training: {total_steps} steps ({per_epoch} per epoch), batch {config.batch_size} x "
                  f"{config.gradient_accumulation}, lr {config.lr:g}")  # fmt: skip
    progress = LoopProgress(reporter, total_steps, 0)
    try:
        state = train_loop(model, train_enc, train_ex.weights, probabilities, spec, checkpoints, state,
                           options.resume, progress)  # fmt: skip
    finally:
        progress.close()
    if state.stopped_early:
        reporter.info(f"stopped early at step {state.step}: no better {eval_cfg.metric} for {eval_cfg.patience} evaluations")
    if eval_cfg.load_best and state.best_step is not None and state.best_step != state.step and checkpoints.best.is_file():
        from curate.train.loop import load_trainable

        load_trainable(model, checkpoints.best)
        reporter.info(f"keeping the weights of step {state.best_step} (best {eval_cfg.metric}: {state.best_value})")

    result = None
    if eval_ex is not None:
        reporter.info(f"evaluating on {config.data.eval_split}: {len(eval_ex):,} rows"
                      + (", generating outputs" if eval_cfg.generate else ""))  # fmt: skip
        result = run_eval(eval_cfg.generate)

    out.mkdir(parents=True, exist_ok=True)
    remove_previous_outputs(out)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    metrics = build_metrics(config, options, data_dir, manifest, base, task, device, dtype, quantize, trainable, total,
                            train_ex, eval_ex, class_weights, train_enc, state, result, config_hash)  # fmt: skip
    write_outputs(out, config, metrics, result)

    merge = options.merge or config.merge
    export = options.export or (config.export if config.export != "none" else None)
    if export == "ct2" and not config.full:
        merge = True
    if merge and not config.full:
        from curate.train.export import merge_adapter

        merged = merge_adapter(out, base, task, out / "merged", tokenizer)
        reporter.info(f"merged model: {merged}")
    if export == "ct2":
        from curate.train.export import export_ct2

        converted = export_ct2(out / "merged" if not config.full else out, out / "ct2")
        reporter.info(f"CTranslate2 model: {converted}")
    if not config.keep_checkpoints:
        checkpoints.clear()
    return TrainResult(out, metrics, result, built, notes)


_WEIGHT_FILES = ("adapter_config.json", "adapter_model.safetensors", "adapter_model.bin", "config.json",
                 "generation_config.json", "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")


def remove_previous_outputs(out: Path) -> None:
    """What an earlier run left in the folder (an adapter where a full model now goes, old evaluations...), so the
    folder holds one run's outputs only. Checkpoints are handled apart (kept for --resume)."""
    for name in _WEIGHT_FILES:
        (out / name).unlink(missing_ok=True)
    for pattern in ("model-*-of-*.safetensors", "eval-*.json", "eval-*.md"):
        for path in out.glob(pattern):
            path.unlink()
    for stale in ("merged", "ct2"):
        shutil.rmtree(out / stale, ignore_errors=True)


def build_metrics(config: TrainConfig, options: TrainOptions, data_dir: Path, manifest: dict | None, base: str,
                  task: str, device: str, dtype: Any, quantize: str, trainable: int, total: int, train_ex: Examples,
                  eval_ex: Examples | None, class_weights: dict | None, train_enc: Any, state: Any,
                  result: EvalResult | None, config_hash: str = "") -> dict[str, Any]:  # fmt: skip
    from curate.manifest import versions

    history = state.history
    card = data_dir / "README.md"
    epochs = state.step * config.batch_size * config.gradient_accumulation / max(len(train_ex), 1)
    return {
        "curate_version": __version__,
        "command": options.command,
        "config_source": options.config_source,
        "config_hash": config_hash,
        "config": config.resolved(),
        "base_model": base,
        "task": task,
        "method": config.method,
        "device": device,
        "precision": str(dtype).replace("torch.", "") if dtype is not None else "fp32",
        "quantize": quantize,
        "learning_rate": config.lr,
        "parameters": {"trainable": trainable, "total": total, "trainable_share": round(trainable / max(total, 1), 6)},
        "data": {
            "dir": data_dir.as_posix(), "name": (manifest or {}).get("name"),
            "recipe_hash": (manifest or {}).get("recipe_hash"), "card": card.as_posix() if card.is_file() else None,
            "train_split": config.data.train_split, "train_rows": len(train_ex), "languages": train_ex.languages(),
            "skipped": train_ex.dropped, "truncated_inputs": train_enc.truncated,
            "sampling_shares": language_shares(train_ex.groups, config.sampling.temperature),
            "class_weights": class_weights is not None,
            "eval_split": config.data.eval_split if eval_ex is not None else None,
            "eval_rows": len(eval_ex) if eval_ex is not None else 0,
        },
        "train": {
            "steps": state.step, "total_steps": state.total_steps, "epochs": round(epochs, 3),
            "seconds": round(state.seconds, 3), "stopped_early": state.stopped_early, "resumed_from": state.resumed_from,
            "first_loss": history[0]["loss"] if history else None, "final_loss": history[-1]["loss"] if history else None,
            "best_step": state.best_step, "best_value": state.best_value, "history": history, "evals": state.evals,
        },
        "eval": result.to_json() if result is not None else {},
        "versions": versions(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write_outputs(out: Path, config: TrainConfig, metrics: dict[str, Any], result: EvalResult | None) -> None:
    from curate.train.card import write_card

    table = markdown_table(result) if result is not None else None
    write_text_atomic(out / "train_config.yaml", yaml.safe_dump(config.resolved(), sort_keys=False, allow_unicode=True))
    if result is not None:
        write_text_atomic(out / "eval_table.md", table)
        write_text_atomic(out / "samples.jsonl", "".join(json.dumps(s, ensure_ascii=False) + "\n" for s in result.samples))
    write_json_atomic(out / "metrics.json", metrics)
    write_card(metrics, out, table)


# ---------------------------------------------------------------------------------------------------------------
# curate eval


def run_evaluation(config: TrainConfig, adapter: Path, split: str | None, options: TrainOptions,
                   reporter: Reporter | None = None, max_rows_per_language: int | None = None) -> tuple[EvalResult, Path]:  # fmt: skip
    """Evaluate a finished adapter (or fully fine-tuned folder) on a split; writes eval-<split>.json/.md beside it."""
    from curate.models.hf import require

    require()
    from curate.models import hf
    from curate.train import model as models

    reporter = reporter or Reporter(quiet=True)
    hf.quiet_libraries()
    adapter = Path(adapter)
    if not adapter.is_dir():
        raise CurateError(f"{adapter}: no such folder (pass the output folder of `curate train`)")
    data_dir = resolve_data_dir(config, options.data)
    split = split or config.data.test_split
    examples = build_examples(read_split(data_dir, split), config, evaluation=True)
    examples = cap_per_language(examples, max_rows_per_language or config.data.max_eval_rows_per_language)
    if len(examples) == 0:
        raise DataError(f"{data_dir}: split '{split}' has no rows with a '{config.data.target_field}'")
    base = models.adapter_base(adapter) if models.is_adapter(adapter) else str(adapter)
    if isinstance(config.base_model, str) and models.is_adapter(adapter):
        base = config.base_model
    elif isinstance(config.base_model, TinyModel) and models.is_adapter(adapter):
        base = config.base_model.path
    device = hf.resolve_device(config.device)
    dtype = models.resolve_dtype(config.precision, device)
    task = models.detect_task(base, config.task)
    tokenizer = hf.load_tokenizer(str(adapter), "base model")
    model = models.load_trained(adapter, base, task, device)
    models.set_cpu_threads(model, device, config.cpu_threads)
    encoded = encode(examples, tokenizer, task, config.max_source_length, config.max_target_length)
    reporter.info(f"evaluating {adapter} on {data_dir} split '{split}': {_describe(examples)}")
    eval_cfg = config.eval
    result = evaluate(model, tokenizer, examples, encoded, task, device, dtype, split=split,
                      batch_size=eval_cfg.batch_size or config.batch_size * 2, generate_outputs=True,
                      max_new_tokens=eval_cfg.max_new_tokens or config.max_target_length, num_beams=eval_cfg.num_beams,
                      samples_per_language=eval_cfg.samples_per_language)  # fmt: skip
    dest = Path(options.output or adapter)
    dest.mkdir(parents=True, exist_ok=True)
    write_json_atomic(dest / f"eval-{split}.json", {"adapter": adapter.as_posix(), "base_model": base,
                                                     "data": data_dir.as_posix(), **result.to_json()})  # fmt: skip
    write_text_atomic(dest / f"eval-{split}.md", markdown_table(result))
    return result, dest
