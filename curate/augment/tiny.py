"""Tiny local models for the tests and the augmentation quick start: built here in seconds, nothing downloaded.

- a MarianMT (seq2seq) with a SentencePiece vocabulary trained on the given sentences, laid out as opus-mt models
  are (`</s>`=0, `<unk>`=1, `<pad>` last, whose zero embedding starts the decoder), optionally with `>>xxx<<`
  target-language tokens like the multilingual opus-mt models;
- an M2M100 (multilingual seq2seq: the target language is a forced first token, CTranslate2's `target_prefix`);
- a Qwen2 or Llama causal LM with a byte-level BPE tokenizer and a ChatML chat template.

With `train_steps` the models are fitted for a few seconds on the given examples (a translation model on sentence
pairs; the causal LM on "rewrite this" chats whose answer is the text itself). They only learn to echo what they
saw: enough for outputs in the right language and script, so the validation has something real to check. They
are toys; name real models (Helsinki-NLP/opus-mt-*, facebook/nllb-200-distilled-600M, Qwen/Qwen2.5-1.5B-Instruct)
for real work.

    python -m curate.augment.tiny models/tiny --pairs data/pairs/en-yi.jsonl
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
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from curate.augment.ct2 import quiet_transformers

CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
    "'\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
LLAMA_CHATML = "{{ bos_token }}" + CHATML
DONE = ".tiny-done"


# reading examples ---------------------------------------------------------------------------------------------------
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


# tokenizers ---------------------------------------------------------------------------------------------------------
def train_sentencepiece(sentences: Iterable[str], vocab_size: int, symbols: Sequence[str] = ()) -> bytes:
    """A unigram SentencePiece model (as opus-mt uses) with `</s>`=0, `<unk>`=1 and byte fallback, so no
    character is unknown; `symbols` become whole pieces (language tokens)."""
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([s for s in sentences if s.strip()]), model_writer=model, vocab_size=vocab_size,
        model_type="unigram", character_coverage=1.0, byte_fallback=True, hard_vocab_limit=False,
        pad_id=-1, bos_id=-1, eos_id=0, unk_id=1, eos_piece="</s>", unk_piece="<unk>",
        user_defined_symbols=list(symbols), num_threads=1, minloglevel=2, shuffle_input_sentence=False,
    )  # fmt: skip
    return model.getvalue()


def sentencepiece_pieces(model: bytes) -> list[str]:
    import sentencepiece as spm

    processor = spm.SentencePieceProcessor(model_proto=model)
    return [processor.id_to_piece(i) for i in range(processor.get_piece_size())]


def train_byte_bpe(texts: Iterable[str], vocab_size: int, specials: Sequence[str]) -> Any:
    """A byte-level BPE (as GPT-2, Llama 3 and Qwen use) trained on `texts`; `specials` get the first ids."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(specials), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())  # fmt: skip
    tokenizer.train_from_iterator([t for t in texts if t.strip()], trainer)
    return tokenizer


# training -----------------------------------------------------------------------------------------------------------
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


# Marian -------------------------------------------------------------------------------------------------------------
def build_marian(out: Path, pairs: Sequence[tuple[str, str]], *, corpus: Iterable[str] = (), vocab_size: int = 1000,
                 d_model: int = 64, layers: int = 2, heads: int = 4, ffn_dim: int = 128, target_langs: Sequence[str] = (),
                 train_steps: int = 0, lr: float = 3e-3, seed: int = 0, max_length: int = 96,
                 fill_vocab: bool = False) -> Path:  # fmt: skip
    """A MarianMT in `out` translating pairs[i][0] -> pairs[i][1]; `target_langs` (ISO 639-3) add `>>xxx<<` tokens
    that a source text starts with to pick its target language (as in opus-mt-en-mul). `fill_vocab` pads the
    vocabulary with unused tokens up to `vocab_size` (a benchmark model as large as opus-mt's 32k/58k)."""
    import torch
    from transformers import (
        GenerationConfig,
        MarianConfig,
        MarianMTModel,
        MarianTokenizer,
    )

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
    with quiet_transformers():
        tokenizer = MarianTokenizer(str(out / "source.spm"), str(out / "target.spm"), str(out / "vocab.json"),
                                    model_max_length=max_length)  # fmt: skip
    tokenizer.save_pretrained(out)
    pad = vocab["<pad>"]
    config = MarianConfig(
        vocab_size=len(vocab), d_model=d_model, encoder_layers=layers, decoder_layers=layers,
        encoder_attention_heads=heads, decoder_attention_heads=heads, encoder_ffn_dim=ffn_dim, decoder_ffn_dim=ffn_dim,
        max_position_embeddings=max_length * 2, pad_token_id=pad, eos_token_id=0, decoder_start_token_id=pad,
        forced_eos_token_id=None, activation_function="swish", scale_embedding=True, share_encoder_decoder_embeddings=True,
        tie_word_embeddings=True, dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = MarianMTModel(config)
    if train_steps and pairs:
        order = list(pairs)
        random.Random(seed).shuffle(order)
        batches = []
        for chunk in _chunks(order, 32):
            batch = tokenizer([s for s, _ in chunk], text_target=[t for _, t in chunk], padding=True,
                              truncation=True, max_length=max_length, return_tensors="pt")  # fmt: skip
            batch["labels"] = _labels(batch["labels"], pad)
            batches.append(dict(batch))
        # Transformers starts the decoder from <pad>'s embedding, CTranslate2 from a zero vector: keep that row zero
        # while training too, or the first word of every translation is decoded from another start.
        with torch.no_grad():
            model.get_input_embeddings().weight[pad].zero_()
        _fit(model, batches, train_steps, lr, seed, zero_row=pad)
    with torch.no_grad():
        model.get_input_embeddings().weight[pad].zero_()
    model.generation_config = GenerationConfig(
        decoder_start_token_id=pad, eos_token_id=0, pad_token_id=pad, bad_words_ids=[[pad]],
        num_beams=1, forced_eos_token_id=None,
    )  # fmt: skip
    model.save_pretrained(out)
    return out


# M2M100 -------------------------------------------------------------------------------------------------------------
def build_m2m100(out: Path, sentences: Iterable[str], *, vocab_size: int = 600, d_model: int = 32, layers: int = 2,
                 heads: int = 2, ffn_dim: int = 64, seed: int = 0, max_length: int = 64) -> Path:  # fmt: skip
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
    tokenizer = M2M100Tokenizer(str(out / "vocab.json"), str(out / "sentencepiece.bpe.model"), model_max_length=max_length)
    tokenizer.save_pretrained(out)
    # ids: the SentencePiece vocabulary, then the 100 language tokens, then 8 made-up words (as facebook/m2m100)
    size = max(tokenizer.lang_token_to_id.values()) + 1 + tokenizer.num_madeup_words
    config = M2M100Config(
        vocab_size=size, d_model=d_model, encoder_layers=layers, decoder_layers=layers,
        encoder_attention_heads=heads, decoder_attention_heads=heads, encoder_ffn_dim=ffn_dim, decoder_ffn_dim=ffn_dim,
        max_position_embeddings=max_length * 2, pad_token_id=1, bos_token_id=0, eos_token_id=2,
        decoder_start_token_id=2, dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, scale_embedding=True,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = M2M100ForConditionalGeneration(config)
    model.generation_config = GenerationConfig(decoder_start_token_id=2, eos_token_id=2, pad_token_id=1, bos_token_id=0,
                                               num_beams=1)  # fmt: skip
    model.save_pretrained(out)
    return out


# causal LM ----------------------------------------------------------------------------------------------------------
def build_causal(out: Path, chats: Sequence[list[dict[str, str]]], *, arch: str = "qwen2", corpus: Iterable[str] = (),
                 vocab_size: int = 1000, hidden: int = 64, layers: int = 2, heads: int = 4, kv_heads: int = 2,
                 train_steps: int = 0, lr: float = 5e-3, seed: int = 0, max_length: int = 256) -> Path:  # fmt: skip
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
    backend = train_byte_bpe(texts, vocab_size, specials)
    template = LLAMA_CHATML if arch == "llama" else CHATML
    # A Llama tokenizer needs a bos_token: CTranslate2's Generator fails without one.
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, eos_token="<|im_end|>", pad_token="<|endoftext|>", unk_token=None,
        bos_token="<s>" if arch == "llama" else None, model_max_length=max_length, chat_template=template,
    )  # fmt: skip
    tokenizer.chat_template = template
    tokenizer.save_pretrained(out)
    ids = tokenizer.convert_tokens_to_ids
    common = dict(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=layers,
        num_attention_heads=heads, num_key_value_heads=kv_heads, max_position_embeddings=max_length * 2,
        rms_norm_eps=1e-6, eos_token_id=ids("<|im_end|>"), pad_token_id=ids("<|endoftext|>"), tie_word_embeddings=False,
    )  # fmt: skip
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
            batch = tokenizer(chunk, padding=True, truncation=True, max_length=max_length, add_special_tokens=False,
                              return_tensors="pt")  # fmt: skip
            batches.append({**batch, "labels": _labels(batch["input_ids"], common["pad_token_id"])})
        _fit(model, batches, train_steps, lr, seed)
    model.generation_config = GenerationConfig(eos_token_id=common["eos_token_id"], pad_token_id=common["pad_token_id"],
                                               bos_token_id=model.config.bos_token_id, do_sample=False)  # fmt: skip
    model.save_pretrained(out)
    return out


def echo_chats(texts: Iterable[str], lang: str, template: str | None = None) -> list[list[dict[str, str]]]:
    """'Rewrite this' chats whose answer is the text itself, in the prompt the `paraphrase` step sends by default."""
    from curate.augment.prompts import render_prompt

    return [[{"role": "user", "content": render_prompt(template, text, lang)}, {"role": "assistant", "content": text}]
            for text in texts]  # fmt: skip


# the quick start's set ----------------------------------------------------------------------------------------------
def build_quickstart(root: Path, pairs_file: Path, *, source: str = "src", target: str = "tgt", source_lang: str = "eng",
                     target_lang: str = "yid", steps: int = 200, force: bool = False) -> dict[str, Path]:  # fmt: skip
    """The models recipes/augment.yaml names: `marian-{t}-{s}` (target->source, for back-translation),
    `marian-{s}-{t}` (its reverse, for round trips and round-trip validation) and `qwen2-{t}` (a chat LM that
    rewrites text in the target language), trained on the pairs of `pairs_file`. Built once: a folder with a
    matching marker is kept."""
    root = Path(root)
    pairs = read_pairs(pairs_file, source, target)
    source = Path(__file__).read_text(encoding="utf-8")  # a change to the builders rebuilds
    key = hashlib.sha256(json.dumps([pairs, steps, _versions(), source], ensure_ascii=False).encode()).hexdigest()[:16]
    s, t = source_lang, target_lang
    plan = {
        f"marian-{t}-{s}": lambda p: build_marian(p, [(b, a) for a, b in pairs], train_steps=steps),
        f"marian-{s}-{t}": lambda p: build_marian(p, pairs, train_steps=steps),
        f"qwen2-{t}": lambda p: build_causal(p, echo_chats([b for _, b in pairs], t), train_steps=steps),
    }
    built = {}
    for name, build in plan.items():
        built[name] = build_once(root / name, key, build, force)
    return built


def _versions() -> list[str]:
    import tokenizers
    import torch
    import transformers

    return [torch.__version__, transformers.__version__, tokenizers.__version__]


def build_once(path: Path, key: str, build, force: bool = False) -> Path:
    """`build(folder)` once per `key` (a marker file keeps it), into a temporary folder renamed into place: a
    half-built model never looks whole."""
    marker = path / DONE
    if not force and marker.is_file() and marker.read_text() == key:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        os.chmod(staging, 0o755)  # mkdtemp makes it private; a model folder is readable like any other
        build(staging)
        (staging / DONE).write_text(key)
        if path.exists():
            shutil.rmtree(path)
        os.replace(staging, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m curate.augment.tiny", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to build the models in (e.g. models/tiny)")
    parser.add_argument("--pairs", type=Path, default=Path("data/pairs/en-yi.jsonl"), help="JSON-lines sentence pairs")
    parser.add_argument("--source", default="src", help="field of the source-language sentence")
    parser.add_argument("--target", default="tgt", help="field of the target-language sentence")
    parser.add_argument("--source-lang", default="eng", help="ISO 639-3 code of the source field (names the models)")
    parser.add_argument("--target-lang", default="yid", help="ISO 639-3 code of the target field (names the models)")
    parser.add_argument("--steps", type=int, default=200, help="training steps per model")
    parser.add_argument("--force", action="store_true", help="rebuild even if the models are there")
    args = parser.parse_args(argv)
    if not args.pairs.is_file():
        print(f"error: no such file: {args.pairs} (run from the repository root, or give --pairs)", file=sys.stderr)
        return 2
    built = build_quickstart(args.out, args.pairs, source=args.source, target=args.target,
                             source_lang=args.source_lang, target_lang=args.target_lang, steps=args.steps,
                             force=args.force)  # fmt: skip
    for name, path in built.items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
