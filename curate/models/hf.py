"""Transformers models and tokenizers, loaded quietly on the right device: the one stack that translation,
paraphrasing, conversion to CTranslate2, the tiny models and training share.

Heavy imports (torch, transformers) happen inside functions, so importing curate works without them.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from typing import Any

from curate.core.errors import CurateError, MissingDependencyError

TRAIN_PACKAGES = ("torch", "transformers", "peft", "sacrebleu", "tokenizers")  # the `train` extra


def require(*modules: str, feature: str = "curate train") -> None:
    """An install hint for the first of `modules` (default: the `train` extra's) that is not installed."""
    for module in modules or TRAIN_PACKAGES:
        if importlib.util.find_spec(module) is None:
            raise MissingDependencyError(feature, module, "train")


def quiet_libraries() -> None:
    """No per-load progress bars, hub progress bars or advisory warnings from transformers in curate's output (its
    commands report their own progress): set once for the process, before a model is loaded."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"transformers\..*")
    warnings.filterwarnings("ignore", message="Recommended: pip install sacremoses")  # only Marian's training needs it
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    try:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    except ImportError:
        pass


def resolve_device(name: str = "auto", engine: str = "torch") -> str:
    """The device a model runs on: `auto` is a GPU when the engine (torch, or CTranslate2) sees one, else Apple's MPS
    (torch only), else the CPU; a device asked for by name must be there."""
    if engine == "ctranslate2":
        import ctranslate2

        gpus = ctranslate2.get_cuda_device_count() > 0
        mps = False
    else:
        import torch

        gpus = torch.cuda.is_available()
        mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if name == "auto":
        return "cuda" if gpus else ("mps" if mps else "cpu")
    if name == "cuda" and not gpus:
        raise CurateError("device: cuda was asked for but no CUDA GPU is visible (use `device: auto` or `cpu`)")
    if name == "mps" and not mps:
        raise CurateError("device: mps was asked for but Apple's MPS is not available (use `device: auto` or `cpu`)")
    return name


def not_found(name: str, exc: Exception, what: str = "model") -> CurateError:
    """A model or tokenizer that transformers could not load: the first line of why, and how to get it."""
    offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    hint = (
        f"download it once with `hf download {name}` (HF_HUB_OFFLINE=1 is set, so nothing is fetched)"
        if offline
        else f"check the hub id or the folder, or download it with `hf download {name}`"
    )
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return CurateError(f"{what} '{name}' could not be loaded: {first}; {hint}")


def load_tokenizer(name: str, what: str = "model") -> Any:
    """A model's own tokenizer; one without a padding token pads with its end token (Llama-style: the loss and the
    attention mask skip padding anyway)."""
    from transformers import AutoTokenizer

    quiet_libraries()
    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
    except Exception as exc:  # noqa: BLE001  (a missing or broken model folder raises many kinds of error)
        raise not_found(str(name), exc, what) from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer
