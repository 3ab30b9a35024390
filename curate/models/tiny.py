"""Tiny local models, built here in seconds with nothing downloaded, so the real code paths (convert, translate,
generate, train LoRA, save, reload, merge) run offline in the tests and the quick starts. They are toys: name real
models (Helsinki-NLP/opus-mt-*, facebook/nllb-200-distilled-600M, Qwen/Qwen2.5-1.5B-Instruct) for real work.

Two sets, one builder:

- base models for `curate train` (`build_tiny`, `ensure_tiny`): a randomly initialised MarianMT or Qwen2 with a
  byte-level BPE tokenizer trained on the given texts, its embeddings lined up by token frequency so LoRA has
  something to move;
- the models recipes/augment.yaml names (`build_quickstart`): MarianMTs with a SentencePiece vocabulary laid out as
  opus-mt models are, optionally with `>>xxx<<` target-language tokens (`build_marian`); an M2M100 whose target
  language is a forced first token (`build_m2m100`); a Qwen2 or Llama chat LM with a byte-level BPE tokenizer and a
  ChatML template (`build_causal`). With `train_steps` they are fitted for seconds to echo the given examples: enough
  for outputs in the right language and script, so the validation has something real to check.

Special tokens are laid out as in the real families: Marian's `</s>`=0, `<unk>`=1, `<pad>` last (the decoder's
start, a zero embedding); Qwen2's `<|endoftext|>` for padding.

    python -m curate.models.tiny augment out/models/tiny --pairs data/pairs/en-yi.jsonl
    python -m curate.models.tiny base out/models/tiny-marian --kind marian --data out/quickstart
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from curate.core.errors import CurateError
from curate.models.hf import quiet_libraries, require

KINDS = ("marian", "qwen2")  # the base models `curate train` can build
CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
    "'\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
LLAMA_CHATML = "{{ bos_token }}" + CHATML
DONE = ".tiny-done"


# examples -----------------------------------------------------------------------------------------------------------
def read_pairs(path: Path, source: str = "tgt", target: str = "src") -> list[tuple[str, str]]:
    """(source, target) pairs from a JSON-lines file, skipping lines that are not JSON or lack a field."""
    pairs = []
    with open(path, "rb") as handle:
        for raw in handle:
            try:
                record = json.loads(raw.decode("utf-8", errors="replace"))
            except ValueError:
                continue
            if isinstance(record, dict) and isinstance(record.get(source), str) and isinstance(record.get(target), str):
                pairs.append((record[source], record[target]))
    return list(dict.fromkeys(pairs))


def texts_from(path: Path, limit: int = 20_000) -> list[str]:
    """Text to train a tokenizer on: `text` and `target` of a curate output's shards, or every string column of
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
            frame = (
                pl.read_parquet(f)
                if f.suffix == ".parquet"
                else pl.read_ndjson(f, ignore_errors=True)
                if f.suffix == ".jsonl"
                else pl.read_csv(f, infer_schema=False, ignore_errors=True, truncate_ragged_lines=True)
            )
        except (
            pl.exceptions.PolarsError,
            OSError,
            ValueError,
        ):  # a broken sample file: the tokenizer can do without it
            continue
        columns = [c for c, t in frame.schema.items() if t == pl.String and not c.startswith("_")]
        columns = [c for c in ("text", "target") if c in columns] or columns
        for c in columns:
            texts += [t for t in frame[c].drop_nulls().to_list() if t.strip()]
    if not texts:
        raise CurateError(f"{path}: no text found to train a tokenizer on")
    return texts[:limit]


def echo_chats(texts: Iterable[str], lang: str, template: str | None = None) -> list[list[dict[str, str]]]:
    """'Rewrite this' chats whose answer is the text itself, in the prompt the `paraphrase` step sends by default."""
    from curate.models.prompts import render_prompt

    return [
        [{"role": "user", "content": render_prompt(template, text, lang)}, {"role": "assistant", "content": text}]
        for text in texts
    ]


# tokenizers ---------------------------------------------------------------------------------------------------------
def train_sentencepiece(sentences: Iterable[str], vocab_size: int, symbols: Sequence[str] = ()) -> bytes:
    """A unigram SentencePiece model (as opus-mt uses) with `</s>`=0, `<unk>`=1 and byte fallback, so no
    character is unknown; `symbols` become whole pieces (language tokens)."""
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([s for s in sentences if s.strip()]),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=1.0,
        byte_fallback=True,
        hard_vocab_limit=False,
        pad_id=-1,
        bos_id=-1,
        eos_id=0,
        unk_id=1,
        eos_piece="</s>",
        unk_piece="<unk>",
        user_defined_symbols=list(symbols),
        num_threads=1,
        minloglevel=2,
        shuffle_input_sentence=False,
    )
    return model.getvalue()


def sentencepiece_pieces(model: bytes) -> list[str]:
    import sentencepiece as spm

    processor = spm.SentencePieceProcessor(model_proto=model)
    return [processor.id_to_piece(i) for i in range(processor.get_piece_size())]


def train_byte_bpe(
    texts: Iterable[str], vocab_size: int, specials: Sequence[str], add_prefix_space: bool = False
) -> Any:
    """A byte-level BPE (as GPT-2, Llama 3 and Qwen use; so no character is unknown) trained on `texts`; `specials`
    get the first ids."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=add_prefix_space)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(specials),
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(list(texts), trainer)
    return tokenizer


def train_tokenizer(texts: Iterable[str], kind: str, vocab_size: int) -> Any:
    """A base model's byte-level BPE tokenizer, wrapped for transformers, with the family's special tokens."""
    from tokenizers import AddedToken, processors
    from transformers import PreTrainedTokenizerFast

    if kind == "marian":
        tok = train_byte_bpe(texts, vocab_size - 1, ["</s>", "<unk>"], add_prefix_space=True)
        tok.add_special_tokens([AddedToken("<pad>", special=True)])
        tok.post_processor = processors.TemplateProcessing(
            single="$A </s>", pair="$A $B </s>", special_tokens=[("</s>", 0)]
        )
        return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="</s>", unk_token="<unk>", pad_token="<pad>")
    tok = train_byte_bpe(texts, vocab_size, ["<|endoftext|>"])
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>")


# building and training ----------------------------------------------------------------------------------------------
def build_into(path: Path, build: Callable[[Path], Any], marker: str | None = None) -> Path:
    """`build(folder)` into a temporary folder renamed into place, so a half-built model never looks whole; `marker`
    is written as `DONE` inside (the key `build_once` compares)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        os.chmod(staging, 0o755)  # mkdtemp makes it private; a model folder is readable like any other
        build(staging)
        if marker is not None:
            (staging / DONE).write_text(marker)
        if path.exists():
            shutil.rmtree(path)
        os.replace(staging, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def build_once(path: Path, key: str, build: Callable[[Path], Any], force: bool = False) -> Path:
    """`build(folder)` once per `key` (a marker file keeps it): a folder built with the same key is kept."""
    marker = Path(path) / DONE
    if not force and marker.is_file() and marker.read_text() == key:
        return Path(path)
    return build_into(path, build, key)


def _fit(model: Any, batches: list[dict], steps: int, lr: float, seed: int, zero_row: int | None = None) -> float:
    """Full-batch AdamW for `steps` steps (the tiny models memorise their examples); returns the last loss.
    `zero_row`: an embedding row that must stay zero (Marian's `<pad>`, the decoder's start)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: more threads only add contention
    torch.manual_seed(seed)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    loss = torch.tensor(float("nan"))
    for step in range(steps):
        batch = batches[step % len(batches)]
        loss = model(**batch).loss
        loss.backward()
        if zero_row is not None:
            model.get_input_embeddings().weight.grad[zero_row] = 0
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    torch.set_num_threads(threads)
    return loss.item()


def _chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def _labels(ids: Any, pad_id: int) -> Any:
    labels = ids.clone()
    labels[labels == pad_id] = -100
    return labels


def _marian(
    vocab: int,
    pad: int,
    eos: int,
    d_model: int,
    layers: int,
    heads: int,
    ffn_dim: int,
    seed: int,
    forced_eos: int | None,
    **config: Any,
) -> Any:
    """A randomly initialised MarianMT as opus-mt models are: shared embeddings, the decoder starting from `<pad>`
    (never generated)."""
    import torch
    from transformers import GenerationConfig, MarianConfig, MarianMTModel

    config = MarianConfig(
        vocab_size=vocab,
        d_model=d_model,
        encoder_layers=layers,
        decoder_layers=layers,
        encoder_attention_heads=heads,
        decoder_attention_heads=heads,
        encoder_ffn_dim=ffn_dim,
        decoder_ffn_dim=ffn_dim,
        pad_token_id=pad,
        eos_token_id=eos,
        decoder_start_token_id=pad,
        forced_eos_token_id=forced_eos,
        scale_embedding=True,
        share_encoder_decoder_embeddings=True,
        **config,
    )
    torch.manual_seed(seed)
    model = MarianMTModel(config)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=pad,
        eos_token_id=eos,
        pad_token_id=pad,
        forced_eos_token_id=forced_eos,
        bad_words_ids=[[pad]],
        num_beams=1,
    )
    return model


# base models for `curate train` -------------------------------------------------------------------------------------
def tiny_model(
    kind: str,
    tokenizer: Any,
    d_model: int = 32,
    layers: int = 2,
    heads: int = 2,
    ffn_dim: int = 64,
    seed: int = 0,
    init_std: float = 0.1,
) -> Any:
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    vocab = len(tokenizer)
    if kind == "marian":
        eos = tokenizer.eos_token_id
        return _marian(
            vocab,
            tokenizer.pad_token_id,
            eos,
            d_model,
            layers,
            heads,
            ffn_dim,
            seed,
            forced_eos=eos,
            max_position_embeddings=512,
            init_std=init_std,
        )
    if kind == "qwen2":
        torch.manual_seed(seed)
        eos = tokenizer.eos_token_id
        config = Qwen2Config(
            vocab_size=vocab,
            hidden_size=d_model,
            intermediate_size=ffn_dim,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            num_key_value_heads=max(1, heads // 2),
            max_position_embeddings=1024,
            tie_word_embeddings=True,
            bos_token_id=eos,
            eos_token_id=eos,
            pad_token_id=eos,
            initializer_range=init_std,
        )
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


def build_tiny(
    kind: str,
    out: Path,
    texts: list[str],
    vocab_size: int = 1000,
    d_model: int = 32,
    layers: int = 2,
    heads: int = 2,
    ffn_dim: int = 64,
    seed: int = 0,
    init_std: float = 0.1,
) -> Path:
    """Train the tokenizer, initialise the model, `save_pretrained` both into `out`."""
    if kind not in KINDS:
        raise CurateError(f"unknown tiny model kind {kind!r} (kinds: {', '.join(KINDS)})")
    quiet_libraries()
    tokenizer = train_tokenizer(texts, kind, vocab_size)
    model = tiny_model(kind, tokenizer, d_model, layers, heads, ffn_dim, seed, init_std)
    frequency_embeddings(model, tokenizer, texts, seed=seed)

    def save(folder: Path) -> None:
        tokenizer.save_pretrained(folder)
        model.save_pretrained(folder)

    return build_into(out, save)


def is_model_folder(path: Path) -> bool:
    return (Path(path) / "config.json").is_file() and (Path(path) / "tokenizer_config.json").is_file()


def ensure_tiny(spec: Any, texts: Callable[[], list[str]]) -> tuple[Path, bool]:
    """The tiny model a training config asks for: reused when its folder holds one, else built from `texts()`.
    Returns (folder, built now)."""
    path = Path(spec.path)
    if is_model_folder(path):
        return path, False
    build_tiny(
        spec.build_tiny,
        path,
        texts(),
        spec.vocab_size,
        spec.d_model,
        spec.layers,
        spec.heads,
        spec.ffn_dim,
        init_std=spec.init_std,
    )
    return path, True


# translation and chat models for the augmentation steps -------------------------------------------------------------
def build_marian(
    out: Path,
    pairs: Sequence[tuple[str, str]],
    *,
    corpus: Iterable[str] = (),
    vocab_size: int = 1000,
    d_model: int = 64,
    layers: int = 2,
    heads: int = 4,
    ffn_dim: int = 128,
    target_langs: Sequence[str] = (),
    train_steps: int = 0,
    lr: float = 3e-3,
    seed: int = 0,
    max_length: int = 96,
    fill_vocab: bool = False,
) -> Path:
    """A MarianMT in `out` translating pairs[i][0] -> pairs[i][1]; `target_langs` (ISO 639-3) add `>>xxx<<` tokens
    that a source text starts with to pick its target language (as in opus-mt-en-mul). `fill_vocab` pads the
    vocabulary with unused tokens up to `vocab_size` (a benchmark model as large as opus-mt's 32k/58k)."""
    import torch
    from transformers import MarianTokenizer

    quiet_libraries()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    symbols = [f">>{lang}<<" for lang in target_langs]
    sentences = [s for pair in pairs for s in pair] + list(corpus)
    spm_model = train_sentencepiece(sentences, vocab_size, symbols)
    for name in ("source.spm", "target.spm"):
        (out / name).write_bytes(spm_model)
    pieces = sentencepiece_pieces(spm_model)
    vocab = {piece: i for i, piece in enumerate(pieces)}
    while fill_vocab and len(vocab) < vocab_size - 1:
        vocab[f"<unused{len(vocab)}>"] = len(vocab)
    vocab["<pad>"] = len(vocab)  # last, as in opus-mt: CTranslate2 drops it and starts from a zero embedding
    (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, indent=0), encoding="utf-8")
    tokenizer = MarianTokenizer(
        str(out / "source.spm"), str(out / "target.spm"), str(out / "vocab.json"), model_max_length=max_length
    )
    tokenizer.save_pretrained(out)
    pad = vocab["<pad>"]
    model = _marian(
        len(vocab),
        pad,
        0,
        d_model,
        layers,
        heads,
        ffn_dim,
        seed,
        forced_eos=None,
        max_position_embeddings=max_length * 2,
        activation_function="swish",
        tie_word_embeddings=True,
        dropout=0.0,
        attention_dropout=0.0,
        activation_dropout=0.0,
    )
    if train_steps and pairs:
        order = list(pairs)
        random.Random(seed).shuffle(order)
        batches = []
        for chunk in _chunks(order, 32):
            batch = tokenizer(
                [s for s, _ in chunk],
                text_target=[t for _, t in chunk],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            batch["labels"] = _labels(batch["labels"], pad)
            batches.append(dict(batch))
        # Transformers starts the decoder from <pad>'s embedding, CTranslate2 from a zero vector: keep that row zero
        # while training too, or the first word of every translation is decoded from another start.
        with torch.no_grad():
            model.get_input_embeddings().weight[pad].zero_()
        _fit(model, batches, train_steps, lr, seed, zero_row=pad)
    with torch.no_grad():
        model.get_input_embeddings().weight[pad].zero_()
    model.save_pretrained(out)
    return out


def build_m2m100(
    out: Path,
    sentences: Iterable[str],
    *,
    vocab_size: int = 600,
    d_model: int = 32,
    layers: int = 2,
    heads: int = 2,
    ffn_dim: int = 64,
    seed: int = 0,
    max_length: int = 64,
) -> Path:
    """A randomly initialised M2M100 with its 100 `__xx__` language tokens: source language as the first source
    token, target language forced as the first target token."""
    import torch
    from transformers import (
        GenerationConfig,
        M2M100Config,
        M2M100ForConditionalGeneration,
        M2M100Tokenizer,
    )

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    spm_model = train_sentencepiece(list(sentences), vocab_size)
    (out / "sentencepiece.bpe.model").write_bytes(spm_model)
    pieces = sentencepiece_pieces(spm_model)
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for piece in pieces:
        vocab.setdefault(piece, len(vocab))
    (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tokenizer = M2M100Tokenizer(
        str(out / "vocab.json"), str(out / "sentencepiece.bpe.model"), model_max_length=max_length
    )
    tokenizer.save_pretrained(out)
    # ids: the SentencePiece vocabulary, then the 100 language tokens, then 8 made-up words (as facebook/m2m100)
    size = max(tokenizer.lang_token_to_id.values()) + 1 + tokenizer.num_madeup_words
    config = M2M100Config(
        vocab_size=size,
        d_model=d_model,
        encoder_layers=layers,
        decoder_layers=layers,
        encoder_attention_heads=heads,
        decoder_attention_heads=heads,
        encoder_ffn_dim=ffn_dim,
        decoder_ffn_dim=ffn_dim,
        max_position_embeddings=max_length * 2,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
        dropout=0.0,
        attention_dropout=0.0,
        activation_dropout=0.0,
        scale_embedding=True,
    )
    torch.manual_seed(seed)
    model = M2M100ForConditionalGeneration(config)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=2, eos_token_id=2, pad_token_id=1, bos_token_id=0, num_beams=1
    )
    model.save_pretrained(out)
    return out


def build_causal(
    out: Path,
    chats: Sequence[list[dict[str, str]]],
    *,
    arch: str = "qwen2",
    corpus: Iterable[str] = (),
    vocab_size: int = 1000,
    hidden: int = 64,
    layers: int = 2,
    heads: int = 4,
    kv_heads: int = 2,
    train_steps: int = 0,
    lr: float = 5e-3,
    seed: int = 0,
    max_length: int = 256,
) -> Path:
    """A Qwen2 or Llama causal LM with a byte-level BPE tokenizer and a ChatML chat template, trained for
    `train_steps` on `chats` (lists of {role, content}) when given."""
    import torch
    from transformers import (
        GenerationConfig,
        LlamaConfig,
        LlamaForCausalLM,
        PreTrainedTokenizerFast,
        Qwen2Config,
        Qwen2ForCausalLM,
    )

    if arch not in ("qwen2", "llama"):
        raise ValueError(f"unknown tiny causal architecture {arch!r}: use qwen2 or llama")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + (["<s>"] if arch == "llama" else [])
    texts = [m["content"] for chat in chats for m in chat] + list(corpus)
    backend = train_byte_bpe([t for t in texts if t.strip()], vocab_size, specials)
    template = LLAMA_CHATML if arch == "llama" else CHATML
    # A Llama tokenizer needs a bos_token: CTranslate2's Generator fails without one.
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        bos_token="<s>" if arch == "llama" else None,
        model_max_length=max_length,
        chat_template=template,
    )
    tokenizer.chat_template = template
    tokenizer.save_pretrained(out)
    ids = tokenizer.convert_tokens_to_ids
    common = dict(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=max_length * 2,
        rms_norm_eps=1e-6,
        eos_token_id=ids("<|im_end|>"),
        pad_token_id=ids("<|endoftext|>"),
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    if arch == "qwen2":
        model = Qwen2ForCausalLM(Qwen2Config(**common, bos_token_id=None))
    else:
        model = LlamaForCausalLM(LlamaConfig(**common, bos_token_id=ids("<s>")))
    if train_steps and chats:
        texts = [tokenizer.apply_chat_template(chat, tokenize=False) for chat in chats]
        random.Random(seed).shuffle(texts)
        batches = []
        for chunk in _chunks(texts, 16):
            batch = tokenizer(
                chunk,
                padding=True,
                truncation=True,
                max_length=max_length,
                add_special_tokens=False,
                return_tensors="pt",
            )
            batches.append({**batch, "labels": _labels(batch["input_ids"], common["pad_token_id"])})
        _fit(model, batches, train_steps, lr, seed)
    model.generation_config = GenerationConfig(
        eos_token_id=common["eos_token_id"],
        pad_token_id=common["pad_token_id"],
        bos_token_id=model.config.bos_token_id,
        do_sample=False,
    )
    model.save_pretrained(out)
    return out


def build_quickstart(
    root: Path,
    pairs_file: Path,
    *,
    source: str = "src",
    target: str = "tgt",
    source_lang: str = "eng",
    target_lang: str = "yid",
    steps: int = 200,
    force: bool = False,
) -> dict[str, Path]:
    """The models recipes/augment.yaml names: `marian-{t}-{s}` (target->source, for back-translation),
    `marian-{s}-{t}` (its reverse, for round trips and round-trip validation) and `qwen2-{t}` (a chat LM that
    rewrites text in the target language), trained on the pairs of `pairs_file`. Built once: a folder with a
    matching marker is kept."""
    root = Path(root)
    pairs = read_pairs(pairs_file, source, target)
    code = Path(__file__).read_text(encoding="utf-8")  # a change to the builders rebuilds
    key = hashlib.sha256(json.dumps([pairs, steps, _versions(), code], ensure_ascii=False).encode()).hexdigest()[:16]
    s, t = source_lang, target_lang
    plan = {
        f"marian-{t}-{s}": lambda p: build_marian(p, [(b, a) for a, b in pairs], train_steps=steps),
        f"marian-{s}-{t}": lambda p: build_marian(p, pairs, train_steps=steps),
        f"qwen2-{t}": lambda p: build_causal(p, echo_chats([b for _, b in pairs], t), train_steps=steps),
    }
    return {name: build_once(root / name, key, build, force) for name, build in plan.items()}


def _versions() -> list[str]:
    import tokenizers
    import torch
    import transformers

    return [torch.__version__, transformers.__version__, tokenizers.__version__]


# the command --------------------------------------------------------------------------------------------------------
def _build_augment(args: argparse.Namespace) -> int:
    if not args.pairs.is_file():
        print(f"error: no such file: {args.pairs} (run from the repository root, or give --pairs)", file=sys.stderr)
        return 2
    built = build_quickstart(
        args.out,
        args.pairs,
        source=args.source,
        target=args.target,
        source_lang=args.source_lang,
        target_lang=args.target_lang,
        steps=args.steps,
        force=args.force,
    )
    for name, path in built.items():
        print(f"{name}: {path}")
    return 0


def _build_base(args: argparse.Namespace) -> int:
    try:
        require("torch", "transformers", "tokenizers", feature="building a tiny model")
        texts = texts_from(args.data)
        print(
            f"building a tiny random {args.kind} model (d_model {args.d_model}, {args.layers} layers, vocabulary "
            f"{args.vocab_size}) from {len(texts):,} texts of {args.data}",
            flush=True,
        )
        out = build_tiny(
            args.kind,
            args.out,
            texts,
            args.vocab_size,
            args.d_model,
            args.layers,
            args.heads,
            args.ffn_dim,
            args.seed,
            args.init_std,
        )
    except CurateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(
        f"wrote a tiny {args.kind} model to {out}; train on it with `base_model: {out}` (it shows the mechanics, it "
        "does not translate)"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m curate.models.tiny", description=__doc__.split("\n\n")[0])
    sets = parser.add_subparsers(dest="set", required=True)
    augment = sets.add_parser("augment", help="the translation and chat models recipes/augment.yaml names")
    augment.add_argument("out", type=Path, help="folder to build the models in (e.g. out/models/tiny)")
    augment.add_argument("--pairs", type=Path, default=Path("data/pairs/en-yi.jsonl"), help="JSON-lines sentence pairs")
    augment.add_argument("--source", default="src", help="field of the source-language sentence")
    augment.add_argument("--target", default="tgt", help="field of the target-language sentence")
    augment.add_argument("--source-lang", default="eng", help="ISO 639-3 code of the source field (names the models)")
    augment.add_argument("--target-lang", default="yid", help="ISO 639-3 code of the target field (names the models)")
    augment.add_argument("--steps", type=int, default=200, help="training steps per model")
    augment.add_argument("--force", action="store_true", help="rebuild even if the models are there")
    augment.set_defaults(build=_build_augment)
    base = sets.add_parser("base", help="a random base model for `curate train`")
    base.add_argument("out", type=Path, help="folder to write the model and tokenizer to")
    base.add_argument("--kind", choices=KINDS, default="marian")
    base.add_argument(
        "--data", type=Path, default=Path("data"), help="a curate output folder, or files to read text from"
    )
    base.add_argument("--vocab-size", type=int, default=1000)
    base.add_argument("--d-model", type=int, default=32)
    base.add_argument("--layers", type=int, default=2)
    base.add_argument("--heads", type=int, default=2)
    base.add_argument("--ffn-dim", type=int, default=64)
    base.add_argument("--seed", type=int, default=0)
    base.add_argument("--init-std", type=float, default=0.1)
    base.set_defaults(build=_build_base)
    args = parser.parse_args(argv)
    return args.build(args)


if __name__ == "__main__":
    sys.exit(main())
