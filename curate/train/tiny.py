"""Tiny, randomly initialised base models built locally: a MarianMT (seq2seq) or a Qwen2 (causal).

They exist so the trainer's real code paths (tokenise, train LoRA, save, reload, merge, convert) run offline, in
tests and in the quick start, in seconds. They learn a little on small data but are not useful models: point
`base_model` at a real one (e.g. Helsinki-NLP/opus-mt-en-fr, google/mt5-small, Qwen/Qwen2.5-0.5B) for that.

    python -m curate.train.tiny out/models/tiny-marian --kind marian --data out/quickstart

The tokenizer is a byte-level BPE trained on the given texts (so no character is unknown), with the special tokens
laid out as in the real families: Marian's `</s>`=0, `<unk>`=1, `<pad>` last (decoder start, zero embedding);
Qwen2's `<|endoftext|>` as end and padding token.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl

from curate.errors import CurateError

KINDS = ("marian", "qwen2")


def texts_from(path: Path, limit: int = 20_000) -> list[str]:
    """Text to train the tokenizer on: `text` and `target` of a curate output's shards, or every string column of
    .parquet/.jsonl/.csv/.txt files in a folder (or one file)."""
    path = Path(path)
    if (path / "data").is_dir():
        files = sorted((path / "data").glob("*.parquet"))
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in (".parquet", ".jsonl", ".csv", ".txt"))
    else:
        files = [path]
    texts: list[str] = []
    for f in files:
        if f.suffix == ".txt":
            texts += [line for line in f.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
            continue
        try:
            frame = (pl.read_parquet(f) if f.suffix == ".parquet" else
                     pl.read_ndjson(f, ignore_errors=True) if f.suffix == ".jsonl" else
                     pl.read_csv(f, infer_schema=False, ignore_errors=True, truncate_ragged_lines=True))  # fmt: skip
        except (pl.exceptions.PolarsError, OSError, ValueError):  # a broken sample file: the tokenizer can do without it
            continue
        columns = [c for c, t in frame.schema.items() if t == pl.String and not c.startswith("_")]
        columns = [c for c in ("text", "target") if c in columns] or columns
        for c in columns:
            texts += [t for t in frame[c].drop_nulls().to_list() if t.strip()]
    if not texts:
        raise CurateError(f"{path}: no text found to train a tokenizer on")
    return texts[:limit]


def train_tokenizer(texts: Iterable[str], kind: str, vocab_size: int) -> Any:
    """A byte-level BPE tokenizer wrapped for transformers, with the family's special tokens."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["</s>", "<unk>"] if kind == "marian" else ["<|endoftext|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=kind == "marian")
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size - (1 if kind == "marian" else 0), special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)  # fmt: skip
    tok.train_from_iterator(list(texts), trainer)
    if kind == "marian":
        tok.add_special_tokens([AddedToken("<pad>", special=True)])
        tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A $B </s>", special_tokens=[("</s>", 0)])
        return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="</s>", unk_token="<unk>", pad_token="<pad>")
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>")


def tiny_model(kind: str, tokenizer: Any, d_model: int = 32, layers: int = 2, heads: int = 2, ffn_dim: int = 64,
               seed: int = 0, init_std: float = 0.1) -> Any:  # fmt: skip
    import torch
    from transformers import GenerationConfig, MarianConfig, MarianMTModel, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    vocab = len(tokenizer)
    if kind == "marian":
        pad, eos = tokenizer.pad_token_id, tokenizer.eos_token_id
        config = MarianConfig(
            vocab_size=vocab, d_model=d_model, encoder_layers=layers, decoder_layers=layers,
            encoder_attention_heads=heads, decoder_attention_heads=heads, encoder_ffn_dim=ffn_dim, decoder_ffn_dim=ffn_dim,
            max_position_embeddings=512, scale_embedding=True, pad_token_id=pad, eos_token_id=eos,
            decoder_start_token_id=pad, forced_eos_token_id=eos, share_encoder_decoder_embeddings=True, init_std=init_std,
        )  # fmt: skip
        model = MarianMTModel(config)
        model.generation_config = GenerationConfig(decoder_start_token_id=pad, eos_token_id=eos, pad_token_id=pad,
                                                   forced_eos_token_id=eos, bad_words_ids=[[pad]], num_beams=1)  # fmt: skip
        return model
    if kind == "qwen2":
        eos = tokenizer.eos_token_id
        config = Qwen2Config(
            vocab_size=vocab, hidden_size=d_model, intermediate_size=ffn_dim, num_hidden_layers=layers,
            num_attention_heads=heads, num_key_value_heads=max(1, heads // 2), max_position_embeddings=1024,
            tie_word_embeddings=True, bos_token_id=eos, eos_token_id=eos, pad_token_id=eos, initializer_range=init_std,
        )  # fmt: skip
        model = Qwen2ForCausalLM(config)
        model.generation_config = GenerationConfig(eos_token_id=eos, pad_token_id=eos, bos_token_id=eos, num_beams=1)
        return model
    raise CurateError(f"unknown tiny model kind {kind!r} (kinds: {', '.join(KINDS)})")


def frequency_embeddings(model: Any, tokenizer: Any, texts: list[str], strength: float = 4.0, seed: int = 0) -> None:
    """Give the random input/output embeddings one direction along which tokens line up by log frequency.

    A random model with frozen embeddings cannot express even the unigram distribution (its output layer is a fixed
    random projection), so LoRA, which leaves embeddings alone, could barely move its loss. A real pretrained model
    has that structure; this is the cheapest stand-in for it."""
    import numpy as np
    import torch

    counts = np.ones(len(tokenizer))
    for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]:
        np.add.at(counts, ids, 1)
    z = np.log(counts)
    z = (z - z.mean()) / (z.std() or 1.0)
    generator = torch.Generator().manual_seed(seed)
    emb = model.get_input_embeddings().weight
    direction = torch.randn(emb.shape[1], generator=generator)
    direction /= direction.norm()
    with torch.no_grad():
        emb += strength * emb.std() * torch.from_numpy(z).to(emb.dtype)[:, None] * direction[None, :]
        pad = tokenizer.pad_token_id
        if getattr(model.config, "is_encoder_decoder", False) and pad is not None:
            emb[pad] = 0.0  # Marian's decoder starts from the (zero) padding embedding


def build_tiny(kind: str, out: Path, texts: list[str], vocab_size: int = 1000, d_model: int = 32, layers: int = 2,
               heads: int = 2, ffn_dim: int = 64, seed: int = 0, init_std: float = 0.1) -> Path:  # fmt: skip
    """Train the tokenizer, initialise the model, `save_pretrained` both into `out` (atomically: a temp folder)."""
    from curate.train.model import quiet_libraries

    if kind not in KINDS:
        raise CurateError(f"unknown tiny model kind {kind!r} (kinds: {', '.join(KINDS)})")
    quiet_libraries()
    out = Path(out)
    tokenizer = train_tokenizer(texts, kind, vocab_size)
    model = tiny_model(kind, tokenizer, d_model, layers, heads, ffn_dim, seed, init_std)
    frequency_embeddings(model, tokenizer, texts, seed=seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        tokenizer.save_pretrained(tmp)
        model.save_pretrained(tmp)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def is_model_folder(path: Path) -> bool:
    return (Path(path) / "config.json").is_file() and (Path(path) / "tokenizer_config.json").is_file()


def ensure_tiny(spec: Any, texts: Any) -> tuple[Path, bool]:
    """The tiny model a config asks for: reused when its folder holds one, else built from `texts()`.
    Returns (folder, built now)."""
    path = Path(spec.path)
    if is_model_folder(path):
        return path, False
    build_tiny(spec.build_tiny, path, texts(), spec.vocab_size, spec.d_model, spec.layers, spec.heads, spec.ffn_dim,
               init_std=spec.init_std)
    return path, True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m curate.train.tiny", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write the model and tokenizer to")
    parser.add_argument("--kind", choices=KINDS, default="marian")
    parser.add_argument("--data", type=Path, default=Path("data"), help="a curate output folder, or files to read text from")
    parser.add_argument("--vocab-size", type=int, default=1000)
    parser.add_argument("--d-model", type=int, default=32)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--ffn-dim", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init-std", type=float, default=0.1)
    args = parser.parse_args(argv)
    try:
        from curate.train.model import require

        require("torch", "transformers", "tokenizers", feature="building a tiny model")
        texts = texts_from(args.data)
        print(f"building a tiny random {args.kind} model (d_model {args.d_model}, {args.layers} layers, vocabulary "
              f"{args.vocab_size}) from {len(texts):,} texts of {args.data}", flush=True)  # fmt: skip
        out = build_tiny(args.kind, args.out, texts, args.vocab_size, args.d_model, args.layers,
                         args.heads, args.ffn_dim, args.seed, args.init_std)  # fmt: skip
    except CurateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"wrote a tiny {args.kind} model to {out}; train on it with `base_model: {out}` (it shows the mechanics, it "
          "does not translate)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
