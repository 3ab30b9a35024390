"""After training: merge the adapter into the base model, and convert the merged model for CTranslate2.

The merge reloads the base in full precision on the CPU (not the 4-bit copy QLoRA trained against), so a merged
model is a plain transformers model that needs neither PEFT nor bitsandbytes.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from curate.core.errors import CurateError, MissingDependencyError


def _swap_in(tmp: Path, dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    tmp.rename(dest)


def merge_adapter(adapter_dir: Path, base: str, task: str, dest: Path, tokenizer: Any | None = None) -> Path:
    """`base` + the adapter in `adapter_dir`, merged (`merge_and_unload`) and saved with the tokenizer to `dest`."""
    from peft import PeftModel

    from curate.models.hf import load_tokenizer
    from curate.train.model import load_model

    model = load_model(base, task, "cpu")
    merged = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        merged.save_pretrained(tmp)
        (tokenizer or load_tokenizer(str(adapter_dir), "base model")).save_pretrained(tmp)
        _swap_in(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def export_ct2(model_dir: Path, dest: Path, quantization: str | None = None) -> Path:
    """Convert a transformers model folder with CTranslate2's converter (Marian, mT5, NLLB, Qwen, Llama...)."""
    try:
        from ctranslate2.converters import TransformersConverter
    except ImportError:
        raise MissingDependencyError("--export ct2", "ctranslate2", "train") from None
    try:  # the synthetic-data code's fixes to CTranslate2's loaders under Transformers 5 (M2M100/NLLB vocabularies)
        from curate.augment.ct2 import _patch_loaders

        _patch_loaders()
    except ImportError:
        pass
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        converter = TransformersConverter(str(model_dir), copy_files=_tokenizer_files(Path(model_dir)))
        try:
            converter.convert(str(tmp), quantization=quantization, force=True)
        except ValueError as exc:  # an architecture CTranslate2 does not support
            raise CurateError(f"CTranslate2 cannot convert {model_dir}: {exc}") from None
        _swap_in(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _tokenizer_files(folder: Path) -> list[str]:
    names = [
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "source.spm",
        "target.spm",
        "vocab.json",
        "sentencepiece.bpe.model",
        "spiece.model",
        "merges.txt",
        "generation_config.json",
        "chat_template.jinja",
    ]
    return [n for n in names if (folder / n).is_file()]
