"""Tiny local models for the augmentation tests, built once and kept between sessions.

They are built by `curate.models.tiny` from the Yiddish sample pairs into `$CURATE_TEST_MODELS` (default: the
system temp folder), under a key of the builder's source, the data, the settings and the library versions: a
change to any of them rebuilds; otherwise a session reuses them (building all of them takes about a minute on two
cores). CTranslate2 conversions go to a cache folder next to them.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import tempfile
from pathlib import Path

from curate.models import tiny

ROOT = Path(__file__).resolve().parents[2]
PAIRS_FILE = ROOT / "data" / "pairs" / "en-yi.jsonl"
STEPS = 100


def root() -> Path:
    return Path(os.environ.get("CURATE_TEST_MODELS") or Path(tempfile.gettempdir()) / "curate-test-models")


def ct2_cache() -> Path:
    return root() / "cache"


def pairs() -> list[tuple[str, str]]:
    """(English, Yiddish) pairs of the sample data."""
    return tiny.read_pairs(PAIRS_FILE, "src", "tgt")


def _specs():
    en_yi = pairs()
    yi_en = [(b, a) for a, b in en_yi]
    sentences = [s for p in en_yi for s in p]
    return {
        "marian-yid-eng": lambda p: tiny.build_marian(p, yi_en, train_steps=STEPS),
        "marian-eng-yid": lambda p: tiny.build_marian(p, en_yi, train_steps=STEPS),
        "marian-mul": lambda p: tiny.build_marian(p, en_yi, target_langs=["yid", "deu"], d_model=32, ffn_dim=64),
        "m2m100": lambda p: tiny.build_m2m100(p, sentences),
        "qwen2-yid": lambda p: tiny.build_causal(p, tiny.echo_chats([b for _, b in en_yi], "yid"), train_steps=STEPS),
        "llama": lambda p: tiny.build_causal(
            p, tiny.echo_chats([b for _, b in en_yi], "yid"), arch="llama", hidden=32, layers=1
        ),
    }


def model(name: str) -> Path:
    """The folder of one tiny model, built if needed."""
    import ctranslate2
    import tokenizers
    import torch
    import transformers

    source = inspect.getsource(tiny) + inspect.getsource(_specs)
    key = hashlib.sha256(
        "\0".join(
            [
                source,
                PAIRS_FILE.read_text(encoding="utf-8", errors="replace"),
                name,
                torch.__version__,
                transformers.__version__,
                tokenizers.__version__,
                ctranslate2.__version__,
            ]
        ).encode()
    ).hexdigest()[:16]
    return tiny.build_once(root() / name, key, _specs()[name])


GERMAN = [("All dogs are good dogs.", "Alle Hunde sind gute Hunde."), ("Look at that.", "Schau dir das an.")]


def batch(german: bool = False):
    """The Yiddish sample pairs as a batch of rows (ids as the reader makes them: stable strings), optionally with
    two German pairs that `only` should leave alone."""
    import polars as pl

    rows = [(a, b, "yid") for a, b in pairs()] + ([(a, b, "deu") for a, b in GERMAN] if german else [])
    return pl.DataFrame(
        {
            "_id": [f"row{i:03d}" for i in range(len(rows))],
            "_source": "data/pairs/en-yi.jsonl",
            "_row": list(range(len(rows))),
            "text": [r[0] for r in rows],
            "target": [r[1] for r in rows],
            "target_lang": [r[2] for r in rows],
        }
    )
