"""Fixtures for the trainer: the quick start's curated output and tiny local base models built from it.

The models are a few hundred kB (d_model 32, 2 layers, a byte-level BPE of 500 tokens trained on the curated text),
built once per session; nothing is downloaded.
"""

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

HAS_TRAIN = all(importlib.util.find_spec(m) for m in ("torch", "transformers", "peft", "sacrebleu", "tokenizers"))
needs_train = pytest.mark.skipif(
    not HAS_TRAIN, reason="the `train` extra (torch, transformers, peft, sacrebleu) is not installed"
)


@pytest.fixture(scope="session")
def curated(tmp_path_factory) -> Path:
    """`curate run recipes/quickstart.yaml` into a temporary folder (real curated shards, 6 target languages)."""
    out = tmp_path_factory.mktemp("curated") / "quickstart"
    done = subprocess.run(
        [sys.executable, "-m", "curate", "run", "recipes/quickstart.yaml", "--out", str(out), "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return out


def _tiny(kind: str, curated: Path, folder: Path) -> Path:
    import torch

    from curate.models.tiny import build_tiny, texts_from

    torch.set_num_threads(1)
    return build_tiny(kind, folder / f"tiny-{kind}", texts_from(curated), vocab_size=500)


@pytest.fixture(scope="session")
def tiny_marian(curated, tmp_path_factory) -> Path:
    return _tiny("marian", curated, tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def tiny_qwen2(curated, tmp_path_factory) -> Path:
    return _tiny("qwen2", curated, tmp_path_factory.mktemp("models"))


def train_config(base, curated: Path, output: Path, **overrides):
    """A small, fast training config on the curated quick start (30 steps, short generations)."""
    from curate.train.config import parse_config

    seq2seq = "marian" in str(base)
    data = {"dir": str(curated), "target_lang_column": "tgt_lang", "max_eval_rows_per_language": 4}
    data.update(overrides.pop("data", {}))
    config = {
        "name": "test",
        "base_model": str(base),
        "data": data,
        "prompt": ">>{target_lang}<< {input}" if seq2seq else "To {target_lang_name}: {input} =>",
        "max_steps": 30,
        "batch_size": 8,
        "learning_rate": 0.01,
        "max_source_length": 48,
        "max_target_length": 48,
        "lora": {"r": 4, "alpha": 8, "dropout": 0.0},
        "eval": {"max_new_tokens": 8, "every_steps": 15, "samples_per_language": 1},
        "output_dir": str(output),
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    return parse_config(config)


def copy_output(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".curate"))
    return dest
