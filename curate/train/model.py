"""Base model, precision and PEFT: what to load how, and which modules LoRA adapts (device, tokenizer and quiet
logging come from `curate.models.hf`, shared with the augmentation steps).

Heavy imports (torch, transformers, peft) happen inside functions so `import curate.train` works without the
`train` extra (`curate.models.hf.require` turns a missing package into an install hint).
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from curate.core.errors import CurateError, MissingDependencyError
from curate.models.hf import not_found

# LoRA targets per architecture (`model_type` in config.json): attention and MLP projections, the set QLoRA and
# LLaMA-Factory adapt by default. Names missing from a given checkpoint are skipped; unknown architectures get
# PEFT's `all-linear`.
TARGET_MODULES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        [
            "marian",
            "bart",
            "mbart",
            "m2m_100",
            "nllb_moe",
            "pegasus",
            "blenderbot",
            "fsmt",
            "opt",
            "whisper",
            "plbart",
            "led",
        ],
        ("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"),
    ),
    **dict.fromkeys(
        ["t5", "mt5", "umt5", "longt5", "switch_transformers"], ("q", "k", "v", "o", "wi", "wi_0", "wi_1", "wo")
    ),
    **dict.fromkeys(
        [
            "llama",
            "qwen2",
            "qwen3",
            "qwen2_moe",
            "mistral",
            "mixtral",
            "gemma",
            "gemma2",
            "gemma3_text",
            "olmo",
            "olmo2",
            "granite",
            "smollm3",
            "cohere",
            "stablelm",
            "starcoder2",
            "phi3",
            "deepseek_v2",
        ],
        ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
    ),
    **dict.fromkeys(["bloom", "gpt_neox", "falcon"], ("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h")),
    "phi": ("q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2"),
    "gpt2": ("c_attn", "c_proj", "c_fc"),
    "gpt_bigcode": ("c_attn", "c_proj", "c_fc"),
    "xglm": ("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"),
}

# ---------------------------------------------------------------------------------------------------------------
# device and precision


def set_cpu_threads(model: Any, device: str, threads: int | None) -> int:
    """Torch's CPU threads: as configured; else one for tiny models (syncing threads costs more than their math,
    and on a busy machine spinning threads make it far slower), else torch's default."""
    import torch

    if threads is None and device == "cpu" and sum(p.numel() for p in model.parameters()) < 5_000_000:
        threads = 1
    if threads:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def resolve_dtype(precision: str, device: str) -> Any:
    """The autocast dtype, or None for plain fp32."""
    import torch

    if precision == "fp32":
        return None
    if precision == "auto":
        return torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else None
    if precision == "fp16" and device == "cpu":
        raise CurateError("precision: fp16 needs a GPU; use bf16 or fp32 on the CPU")
    return torch.bfloat16 if precision == "bf16" else torch.float16


def resolve_quantization(setting: str, device: str, full: bool) -> str:
    """`none`, `4bit` or `8bit`: QLoRA by default where it works (CUDA, bitsandbytes, LoRA)."""
    has_bnb = importlib.util.find_spec("bitsandbytes") is not None
    if setting == "auto":
        return "4bit" if device == "cuda" and has_bnb and not full else "none"
    if setting != "none":
        if full:
            raise CurateError(f"quantize: {setting} is for LoRA (QLoRA); a full fine-tune needs `quantize: none`")
        if device != "cuda":
            raise CurateError(f"quantize: {setting} needs a CUDA GPU (device is {device}); use `quantize: none`")
        if not has_bnb:
            raise MissingDependencyError(f"quantize: {setting}", "bitsandbytes", "train")
    return setting


# ---------------------------------------------------------------------------------------------------------------
# loading


def model_type(name: str) -> tuple[str, bool]:
    """(`model_type`, is encoder-decoder) from the model's config."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(name)
    except (OSError, ValueError) as exc:
        raise not_found(name, exc, "base model") from None
    return config.model_type, bool(getattr(config, "is_encoder_decoder", False))


def detect_task(name: str, configured: str) -> str:
    if configured != "auto":
        return configured
    return "seq2seq" if model_type(name)[1] else "causal"


def load_model(name: str, task: str, device: str, quantize: str = "none", dtype: Any = None) -> Any:
    """The base model on `device`; with `quantize` 4bit/8bit, loaded through bitsandbytes for QLoRA."""
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    cls = AutoModelForSeq2SeqLM if task == "seq2seq" else AutoModelForCausalLM
    kwargs: dict[str, Any] = {}
    if quantize != "none":
        from transformers import BitsAndBytesConfig

        compute = dtype or torch.float16
        kwargs["quantization_config"] = (
            BitsAndBytesConfig(
                load_in_4bit=True,
                bnb_4bit_quant_type="nf4",
                bnb_4bit_use_double_quant=True,
                bnb_4bit_compute_dtype=compute,
            )
            if quantize == "4bit"
            else BitsAndBytesConfig(load_in_8bit=True)
        )
        kwargs["device_map"] = {"": 0}
        kwargs["dtype"] = compute
    try:
        model = cls.from_pretrained(name, **kwargs)
    except (OSError, ValueError) as exc:
        raise not_found(name, exc, "base model") from None
    if quantize == "none":
        model = model.to(device)
    return model


# ---------------------------------------------------------------------------------------------------------------
# PEFT


def linear_module_names(model: Any) -> set[str]:
    """Last name component of every linear-like module (Linear, Conv1D, bitsandbytes layers)."""
    names = set()
    for name, module in model.named_modules():
        kind = type(module).__name__
        if kind in ("Linear", "Conv1D", "Linear4bit", "Linear8bitLt") and name:
            names.add(name.rsplit(".", 1)[-1])
    return names


def lora_targets(model: Any, setting: str | list[str]) -> str | list[str]:
    """The module names LoRA wraps: the architecture's projections, `all-linear`, or the user's list (checked)."""
    present = linear_module_names(model)
    if setting == "all-linear":
        return "all-linear"
    if setting == "auto":
        known = TARGET_MODULES.get(getattr(model.config, "model_type", ""), ())
        chosen = [m for m in known if m in present]
        return chosen or "all-linear"
    missing = [m for m in setting if m not in present and not any(fnmatch.fnmatch(p, m) for p in present)]
    if missing:
        raise CurateError(
            f"lora.target_modules: {', '.join(missing)} not in the model "
            f"(its linear modules: {', '.join(sorted(present))})"
        )
    return list(setting)


def apply_lora(model: Any, config: Any, task: str, quantized: bool, gradient_checkpointing: bool) -> Any:
    from peft import LoraConfig, TaskType, get_peft_model

    if quantized:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=gradient_checkpointing)
    lora = config.lora
    peft_config = LoraConfig(
        task_type=TaskType.SEQ_2_SEQ_LM if task == "seq2seq" else TaskType.CAUSAL_LM,
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora_targets(model, lora.target_modules),
        modules_to_save=lora.modules_to_save or None,
    )
    return get_peft_model(model, peft_config)


def apply_freeze(model: Any, patterns: list[str]) -> int:
    """Freeze parameters whose name matches a glob; returns how many tensors were frozen."""
    if not patterns:
        return 0
    frozen, unmatched = 0, set(patterns)
    for name, param in model.named_parameters():
        hits = [p for p in patterns if fnmatch.fnmatch(name, p)]
        if hits:
            unmatched -= set(hits)
            if param.requires_grad:
                param.requires_grad_(False)
                frozen += 1
    if unmatched:
        sample = [n for n, _ in model.named_parameters()][:6]
        raise CurateError(
            f"freeze: {', '.join(sorted(unmatched))} matches no parameter (names look like: {', '.join(sample)})"
        )
    return frozen


def enable_gradient_checkpointing(model: Any) -> None:
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if hasattr(model, "enable_input_require_grads"):
        model.enable_input_require_grads()
    if getattr(model, "config", None) is not None:
        model.config.use_cache = False


def parameter_counts(model: Any) -> tuple[int, int]:
    """(trainable, total) parameters; PEFT's own count where it applies (it unpacks 4-bit weights)."""
    if hasattr(model, "get_nb_trainable_parameters"):
        trainable, total = model.get_nb_trainable_parameters()
        return int(trainable), int(total)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())


def is_adapter(folder: Path) -> bool:
    return (Path(folder) / "adapter_config.json").is_file()


def adapter_base(folder: Path) -> str | None:
    try:
        return json.loads((Path(folder) / "adapter_config.json").read_text())["base_model_name_or_path"]
    except (OSError, ValueError, KeyError):
        return None


def load_trained(folder: Path, base: str | None, task: str, device: str) -> Any:
    """A finished run's model: base + adapter (`PeftModel.from_pretrained`) or a fully fine-tuned folder."""
    folder = Path(folder)
    if is_adapter(folder):
        from peft import PeftModel

        name = base or adapter_base(folder)
        if not name:
            raise CurateError(f"{folder}: the adapter does not name its base model; pass the training config")
        model = load_model(name, task, device)
        return PeftModel.from_pretrained(model, str(folder)).to(device)
    if not (folder / "config.json").is_file():
        raise CurateError(f"{folder}: neither an adapter (adapter_config.json) nor a model (config.json)")
    return load_model(str(folder), task, device)


def _same_model(a: str | None, b: str) -> bool:
    """Two names of one model: equal ids, or the same folder."""
    if a is None or a == b:
        return True
    return Path(a).is_dir() and Path(b).is_dir() and Path(a).resolve() == Path(b).resolve()


def check_init_adapter(folder: str | Path) -> Path:
    """`init_adapter` must name a LoRA adapter folder: said before any model is loaded (exit code 2)."""
    from curate.train.data import DataError

    folder = Path(folder)
    if not is_adapter(folder):
        what = "no such folder" if not folder.is_dir() else "not a LoRA adapter (no adapter_config.json)"
        raise DataError(
            f"init_adapter: {folder}: {what}; name the output folder of an earlier `curate train` with LoRA"
        )
    return folder


def continue_adapter(model: Any, folder: str | Path, base: str) -> Any:
    """The earlier LoRA adapter on `model`, trainable: a continual fine-tune goes on from its weights."""
    from peft import PeftModel

    folder = check_init_adapter(folder)
    earlier = adapter_base(folder)
    if not _same_model(earlier, base):
        from curate.train.data import DataError

        raise DataError(
            f"init_adapter: {folder} was trained on '{earlier}', not on base_model '{base}'; continue it "
            "on the same base model"
        )
    return PeftModel.from_pretrained(model, str(folder), is_trainable=True)


@contextmanager
def reference_model(model: Any, base: str, task: str, device: str, init_adapter: str | None) -> Iterator[Any]:
    """The model before the fine-tune: the base (for an adapter, the same model with the adapter switched off), or
    base + the earlier adapter a continual fine-tune started from (loaded beside the new one, then removed)."""
    if init_adapter is None and hasattr(model, "disable_adapter"):
        with model.disable_adapter():
            yield model
        return
    if init_adapter is not None and hasattr(model, "load_adapter"):
        active = model.active_adapter
        model.load_adapter(str(init_adapter), adapter_name="before-fine-tune")
        model.set_adapter("before-fine-tune")
        try:
            yield model
        finally:
            model.set_adapter(active)
            model.delete_adapter("before-fine-tune")
        return
    yield load_trained(Path(init_adapter), base, task, device) if init_adapter else load_model(base, task, device)
