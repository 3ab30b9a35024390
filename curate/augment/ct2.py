"""CTranslate2: convert a model once (cached), load it, and feed it batches sorted by length.

A Transformers model (a folder, or a hub id already in the local Hugging Face cache: see `curate.models.locate`) is
converted to CTranslate2 on first use and kept in `~/.cache/curate/ct2/<key>` (or `$CURATE_CACHE_DIR/ct2`), where
the key covers the model's files (names, sizes, modification times), the quantization and the CTranslate2 version: a
changed model or setting converts again, anything else loads the cached copy. Conversion writes to a temporary
folder that is renamed into place, so a killed conversion never leaves a half model that looks whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from curate.core.errors import CurateError, MissingDependencyError
from curate.models.hf import quiet_libraries
from curate.models.locate import cache_root

MODEL_FILES = (".json", ".safetensors", ".bin", ".model", ".spm", ".txt", ".jinja", ".tiktoken")
_LOCK = threading.Lock()
CT2_VOCABULARIES = (
    "shared_vocabulary.json",
    "shared_vocabulary.txt",
    "vocabulary.json",
    "vocabulary.txt",
    "source_vocabulary.json",
    "source_vocabulary.txt",
)


def is_ct2_model(path: Path) -> bool:
    """A folder CTranslate2 can load as it is (named directly in a recipe, or a cached conversion)."""
    return (path / "model.bin").is_file() and any((path / v).is_file() for v in CT2_VOCABULARIES)


def fingerprint(path: Path) -> str:
    """Names, sizes and modification times of a model's files: cheap, and changes whenever the model does."""
    entries = []
    for f in sorted(path.rglob("*")):
        if f.is_file() and f.suffix in MODEL_FILES and ".git" not in f.parts:
            stat = f.stat()
            entries.append((f.relative_to(path).as_posix(), stat.st_size, stat.st_mtime_ns))
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()


def pick_compute_type(compute_type: str, device: str) -> str:
    """`auto`: int8 on CPU (the fast path there), float16 on GPU."""
    if compute_type != "auto":
        return compute_type
    return "int8" if device == "cpu" else "float16"


def convert(model: Path, quantization: str = "int8", cache_dir: str | Path | None = None) -> Path:
    """The CTranslate2 copy of a Transformers model folder, converted on first use."""
    try:
        import ctranslate2
    except ImportError:
        raise MissingDependencyError("CTranslate2 conversion", "ctranslate2", "synth") from None
    model = Path(model)
    if is_ct2_model(model):
        return model
    key = hashlib.sha256(
        json.dumps([str(model.resolve()), fingerprint(model), quantization, ctranslate2.__version__]).encode()
    ).hexdigest()[:24]
    root = cache_root(cache_dir) / "ct2"
    target = root / f"{model.name}-{quantization}-{key}"
    if (target / "model.bin").is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    with _LOCK:
        if (target / "model.bin").is_file():
            return target
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=root))
        try:
            os.chmod(staging, 0o755)  # mkdtemp makes it private; the cache is shared like the models it holds
            _patch_loaders()
            converter = ctranslate2.converters.TransformersConverter(str(model), copy_files=_tokenizer_files(model))
            # the staging folder exists already (mkdtemp): CTranslate2 needs force=True to write into it
            quiet_libraries()
            converter.convert(
                str(staging), quantization=None if quantization == "float32" else quantization, force=True
            )
            try:
                os.replace(staging, target)
            except OSError:  # another process finished first
                if not (target / "model.bin").is_file():
                    raise
        except Exception as error:
            if isinstance(error, CurateError):
                raise
            raise CurateError(f"could not convert {model} to CTranslate2: {type(error).__name__}: {error}") from error
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


_PATCHED = False


def _patch_loaders() -> None:
    """M2M100 under Transformers 5: the tokenizer's `get_vocab()` no longer lists the 100 `__xx__` language tokens
    and `additional_special_tokens` is gone, so CTranslate2's converter builds a vocabulary without them (and fails
    the size check). This loader puts them back, in id order, before the made-up words."""
    global _PATCHED
    if _PATCHED:
        return
    from ctranslate2.converters import transformers as converters

    base = converters._MODEL_LOADERS.get("M2M100Config")
    if base is None:
        return

    class M2M100Loader(type(base)):  # type: ignore[misc]
        def get_vocabulary(self, model, tokenizer):
            ranked = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
            tokens = [token for token, _ in ranked]
            known = set(tokens)
            languages = getattr(tokenizer, "lang_token_to_id", None) or {}
            tokens += [t for t, _ in sorted(languages.items(), key=lambda item: item[1]) if t not in known]
            tokens += [f"madeupword{i}" for i in range(max(0, model.config.vocab_size - len(tokens)))]
            return tokens

    converters._MODEL_LOADERS["M2M100Config"] = M2M100Loader()
    _PATCHED = True


def _tokenizer_files(model: Path) -> list[str]:
    names = (
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "vocab.json",
        "source.spm",
        "target.spm",
        "sentencepiece.bpe.model",
        "generation_config.json",
        "chat_template.jinja",
    )
    return [n for n in names if (model / n).is_file()]


def thread_plan(threads: int = 0, workers: int = 0) -> tuple[int, int]:
    """(batches decoded in parallel, threads per batch). CTranslate2 is fastest on a CPU when several batches run at
    once, each on few threads (small matrices parallelise badly): by default up to 4 workers share the cores."""
    total = threads or os.cpu_count() or 1
    inter = workers or min(4, total)
    return inter, max(1, total // inter)


def load_translator(
    path: Path, device: str = "cpu", compute_type: str = "int8", threads: int = 0, workers: int = 1
) -> Any:
    import ctranslate2

    inter, intra = thread_plan(threads, workers) if device == "cpu" else (max(1, workers), 0)
    return ctranslate2.Translator(
        str(path), device=device, compute_type=compute_type, inter_threads=inter, intra_threads=intra
    )


def load_generator(path: Path, device: str = "cpu", compute_type: str = "int8", threads: int = 0) -> Any:
    import ctranslate2

    _, intra = thread_plan(threads, 1) if device == "cpu" else (1, 0)
    return ctranslate2.Generator(
        str(path), device=device, compute_type=compute_type, inter_threads=1, intra_threads=intra
    )


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped in batches of similar length (longest first), so little of each batch is padding; the
    caller puts the results back in input order."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    return [order[i : i + batch_size] for i in range(0, len(order), max(1, batch_size))]


def in_order(batches: list[list[int]], results: list[list[Any]], n: int) -> list[Any]:
    """Results of length-sorted batches back in input order."""
    out: list[Any] = [None] * n
    for indices, values in zip(batches, results):
        for i, value in zip(indices, values):
            out[i] = value
    return out
