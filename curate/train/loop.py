"""The training loop: weighted token loss, gradient accumulation, evaluation, early stopping, checkpoints, resume.

A plain PyTorch loop rather than `transformers.Trainer`: per-row class weights, language-temperature sampling and
per-language evaluation are each a line here and a subclass there, and it behaves the same across transformers
releases. A resumed run is step for step the run that was not interrupted: the epoch order depends only on
(seed, epoch), and the checkpoint holds the trainable weights, optimizer, scheduler and RNG states.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from curate.core.errors import CurateError
from curate.train.data import Encoded, collate, epoch_order
from curate.train.evaluate import EvalResult, _autocast, to_device, token_losses

LOWER_IS_BETTER = {"loss": True, "chrf": False, "bleu": False}


@dataclass
class TrainState:
    step: int = 0  # optimizer steps done
    epoch: int = 0  # current epoch
    batch_in_epoch: int = 0  # micro-batches of the current epoch already used
    total_steps: int = 0
    best_value: float | None = None
    best_step: int | None = None
    bad_evals: int = 0
    stopped_early: bool = False
    seconds: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)  # {step, loss, lr}
    evals: list[dict[str, Any]] = field(default_factory=list)  # {step, loss, chrf, bleu}
    config_hash: str = ""
    resumed_from: int | None = None


@dataclass
class LoopSpec:
    """What the loop needs besides the model: sizes, schedule and the callbacks for evaluation and progress."""

    task: str
    device: str
    dtype: Any
    pad_id: int
    batch_size: int
    accumulation: int
    total_steps: int
    steps_per_epoch: int
    learning_rate: float
    weight_decay: float
    warmup_steps: int
    scheduler: str
    max_grad_norm: float
    seed: int
    eval_every: int | None  # optimizer steps between evaluations (None: no evaluation)
    save_every: int | None
    metric: str = "loss"
    patience: int | None = None
    log_every: int = 10
    evaluate: Callable[[bool], EvalResult] | None = None  # argument: whether to generate
    metric_needs_generation: bool = False


# ---------------------------------------------------------------------------------------------------------------
# checkpoints


def trainable_tensors(model: Any) -> dict[str, Any]:
    return {n: p.detach().to("cpu").contiguous() for n, p in model.named_parameters() if p.requires_grad}


def load_trainable(model: Any, path: Path) -> None:
    from safetensors.torch import load_file

    tensors = load_file(str(path))
    params = dict(model.named_parameters())
    missing = [n for n in tensors if n not in params]
    if missing:
        raise CurateError(
            f"{path}: checkpoint does not fit the model (e.g. {missing[0]}); start again without --resume"
        )
    import torch

    with torch.no_grad():
        for name, tensor in tensors.items():
            params[name].copy_(tensor.to(params[name].device, params[name].dtype))


def _save_tensors(tensors: dict[str, Any], path: Path) -> None:
    from safetensors.torch import save_file

    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp))
    os.replace(tmp, path)


def _load_tensors(path: Path) -> Any:
    """A checkpoint file of tensors and plain values; `weights_only`: an object that would run code is refused."""
    import pickle

    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CurateError(
            f"{path}: not a checkpoint curate wrote ({str(exc).splitlines()[0]}); it is not loaded. "
            "Start again without --resume"
        ) from None


class Checkpoints:
    """`OUTPUT/checkpoints/last/` (weights, optimizer, scheduler, RNG, state) and `best.safetensors`, written to a
    temporary folder first and swapped in, so a kill at any moment leaves a whole checkpoint."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.last = self.folder / "last"
        self.best = self.folder / "best.safetensors"

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def save(self, model: Any, optimizer: Any, scheduler: Any, scaler: Any, state: TrainState) -> None:
        import torch

        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / ".last-tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        _save_tensors(trainable_tensors(model), tmp / "trainable.safetensors")
        torch.save(
            {
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict() if scaler is not None else None,
            },
            tmp / "optimizer.pt",
        )
        rng = {"torch": torch.get_rng_state()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        torch.save(rng, tmp / "rng.pt")
        (tmp / "state.json").write_text(json.dumps(asdict(state), indent=1), encoding="utf-8")
        old = self.folder / ".last-old"
        shutil.rmtree(old, ignore_errors=True)
        if self.last.exists():
            self.last.rename(old)
        tmp.rename(self.last)
        shutil.rmtree(old, ignore_errors=True)

    def save_best(self, model: Any) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        _save_tensors(trainable_tensors(model), self.best)

    def latest(self) -> Path | None:
        for folder in (self.last, self.folder / ".last-old"):
            if (folder / "state.json").is_file():
                return folder
        return None

    def read_state(self) -> TrainState | None:
        folder = self.latest()
        if folder is None:
            return None
        return TrainState(**json.loads((folder / "state.json").read_text(encoding="utf-8")))

    def restore(self, model: Any, optimizer: Any, scheduler: Any, scaler: Any) -> TrainState:
        import torch

        folder = self.latest()
        assert folder is not None
        load_trainable(model, folder / "trainable.safetensors")
        states, rng = (_load_tensors(folder / name) for name in ("optimizer.pt", "rng.pt"))
        optimizer.load_state_dict(states["optimizer"])
        scheduler.load_state_dict(states["scheduler"])
        if scaler is not None and states.get("scaler"):
            scaler.load_state_dict(states["scaler"])
        torch.set_rng_state(rng["torch"])
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        return TrainState(**json.loads((folder / "state.json").read_text(encoding="utf-8")))


# ---------------------------------------------------------------------------------------------------------------
# schedule


def plan_steps(rows: int, batch_size: int, accumulation: int, epochs: float, max_steps: int | None) -> tuple[int, int]:
    """(optimizer steps per epoch, total optimizer steps)."""
    per_epoch = max(1, math.ceil(rows / (batch_size * accumulation)))
    total = max_steps or max(1, math.ceil(epochs * per_epoch))
    return per_epoch, total


def optimizer_for(model: Any, learning_rate: float, weight_decay: float, device: str) -> Any:
    """AdamW; biases and norms get no weight decay."""
    import torch

    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (no_decay if param.ndim < 2 or "norm" in name.lower() else decay).append(param)
    if not decay and not no_decay:
        raise CurateError("nothing to train: every parameter is frozen (check `freeze` and `lora.target_modules`)")
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=learning_rate, foreach=device != "mps")


def scheduler_for(optimizer: Any, name: str, warmup: int, total: int) -> Any:
    from transformers import get_scheduler

    kind = "constant_with_warmup" if name == "constant" else name
    return get_scheduler(kind, optimizer, num_warmup_steps=warmup, num_training_steps=total)


class MicroBatches:
    """Micro-batch indices across epochs, from (seed, epoch) alone: position (epoch, batch) can be resumed."""

    def __init__(
        self,
        n: int,
        batch_size: int,
        probabilities: np.ndarray | None,
        seed: int,
        epoch: int = 0,
        batch_in_epoch: int = 0,
    ):
        self.n, self.batch_size, self.probabilities, self.seed = n, batch_size, probabilities, seed
        self.epoch, self.batch_in_epoch = epoch, batch_in_epoch
        self._order = epoch_order(n, probabilities, seed, epoch)

    def next(self) -> np.ndarray:
        start = self.batch_in_epoch * self.batch_size
        if start >= self.n:
            self.epoch, self.batch_in_epoch, start = self.epoch + 1, 0, 0
            self._order = epoch_order(self.n, self.probabilities, self.seed, self.epoch)
        self.batch_in_epoch += 1
        return self._order[start : start + self.batch_size]


# ---------------------------------------------------------------------------------------------------------------
# the loop


def improved(value: float | None, best: float | None, metric: str) -> bool:
    if value is None:
        return False
    if best is None:
        return True
    return value < best if LOWER_IS_BETTER[metric] else value > best


def train_loop(
    model: Any,
    encoded: Encoded,
    weights: np.ndarray,
    probabilities: np.ndarray | None,
    spec: LoopSpec,
    checkpoints: Checkpoints,
    state: TrainState,
    resume: bool,
    progress: Callable[[TrainState, dict[str, float]], None] | None = None,
) -> TrainState:
    """Train until `spec.total_steps` optimizer steps or early stopping; returns the final state."""
    import torch

    optimizer = optimizer_for(model, spec.learning_rate, spec.weight_decay, spec.device)
    scheduler = scheduler_for(optimizer, spec.scheduler, spec.warmup_steps, spec.total_steps)
    scaler = torch.amp.GradScaler("cuda") if spec.dtype == torch.float16 and spec.device == "cuda" else None
    if resume and checkpoints.latest() is not None:
        restored = checkpoints.restore(model, optimizer, scheduler, scaler)
        restored.resumed_from = restored.step
        restored.total_steps = spec.total_steps
        state = restored
    else:
        torch.manual_seed(spec.seed)
    weights = torch.from_numpy(np.asarray(weights, dtype=np.float32) / max(float(np.mean(weights)), 1e-12))
    batches = MicroBatches(
        len(encoded.input_ids), spec.batch_size, probabilities, spec.seed, state.epoch, state.batch_in_epoch
    )
    model.train()
    running: list[float] = []
    started = time.perf_counter() - state.seconds
    while state.step < spec.total_steps and not state.stopped_early:
        step_loss = 0.0
        for _ in range(spec.accumulation):
            idx = batches.next()
            batch = to_device(collate(encoded, idx, spec.pad_id, spec.task), spec.device)
            with _autocast(spec.device, spec.dtype):
                sums, counts = token_losses(model, batch, spec.task)
            w = weights[idx].to(sums.device)
            loss = (sums * w).sum() / counts.sum().clamp(min=1) / spec.accumulation
            (scaler.scale(loss) if scaler else loss).backward()
            step_loss += float(loss.detach())
        if scaler:
            scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], spec.max_grad_norm)
        if scaler:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        state.step += 1
        state.epoch, state.batch_in_epoch = batches.epoch, batches.batch_in_epoch
        running.append(step_loss)
        if not math.isfinite(step_loss):
            raise CurateError(f"the loss is {step_loss} at step {state.step}: lower learning_rate, or use fp32/bf16")
        lr = float(scheduler.get_last_lr()[0])
        if state.step % spec.log_every == 0 or state.step == spec.total_steps:
            state.history.append({"step": state.step, "loss": round(float(np.mean(running)), 5), "lr": lr})
            running = []
        state.seconds = time.perf_counter() - started
        evaluated = False
        last = state.step == spec.total_steps
        if spec.evaluate is not None and spec.eval_every and (state.step % spec.eval_every == 0 or last):
            result = spec.evaluate(spec.metric_needs_generation)
            value = result.metric(spec.metric)
            entry = {
                "step": state.step,
                "loss": result.overall.loss,
                "chrf": result.overall.chrf,
                "bleu": result.overall.bleu,
            }
            state.evals.append(entry)
            if improved(value, state.best_value, spec.metric):
                state.best_value, state.best_step, state.bad_evals = value, state.step, 0
                checkpoints.save_best(model)
            else:
                state.bad_evals += 1
                if spec.patience is not None and state.bad_evals >= spec.patience:
                    state.stopped_early = True
            evaluated = True
            model.train()
        if (evaluated and not spec.save_every) or (spec.save_every and state.step % spec.save_every == 0):
            state.seconds = time.perf_counter() - started
            checkpoints.save(model, optimizer, scheduler, scaler, state)
        if progress:
            progress(state, {"loss": step_loss, "lr": lr, **({"eval": state.evals[-1]} if evaluated else {})})
    state.seconds = time.perf_counter() - started
    return state
