"""Back-translation speed: the `backtranslate` step on CTranslate2 against Transformers `generate`, same run.

The model is Marian-base sized (d_model 512, 6 encoder + 6 decoder layers, 8 heads, FFN 2048, a 32k vocabulary,
random weights), built locally; its SentencePiece vocabulary is trained on the sample data and padded to 32k. The
inputs are real sentences of varied length (Tatoeba sentences from data/pairs and sentences of the Wikipedia
paragraphs in data/wiki). Every configuration decodes with beam 4 and exactly the same number of output tokens per
sentence (minimum = maximum length, since random weights would stop anywhere), so sentences/s compare like with
like; the table shows the output tokens each configuration produced.

Rows, all on this CPU with the same number of threads, best of `--repeat` runs after a warm-up:
- Transformers `generate` float32 with batches in input order, then sorted by length (the step's batching), then
  with torch's dynamic int8 quantization of the Linear layers (the strongest Transformers baseline we know of on CPU);
- CTranslate2 one batch at a time (all threads on it): float32 in input order and sorted, int8 sorted;
- CTranslate2 int8 with several batches decoded at once, a few threads each (the step's default);
- the whole `backtranslate` step in that configuration (tokenization, validation and row building included).

Ratios are against Transformers float32 with the same sorted batches (the goal: at least 2x) and against the best
Transformers row.

    python bench/backtranslate.py [--sentences 128] [--length 16] [--batch 32] [--threads N] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def sentences(n: int) -> list[str]:
    """Real sentences of varied length: Tatoeba sentences (data/pairs) and sentences of the Wikipedia paragraphs
    (data/wiki, 12 languages), shuffled with a fixed seed."""
    import csv
    import random
    import re

    texts = []
    for path in sorted((ROOT / "data" / "pairs").glob("*.jsonl")):
        for raw in path.read_bytes().splitlines():
            try:
                record = json.loads(raw.decode("utf-8", errors="replace"))
            except ValueError:
                continue
            if isinstance(record, dict) and isinstance(record.get("src"), str) and 3 <= len(record["src"]) <= 300:
                texts.append(record["src"])
    with open(ROOT / "data" / "wiki" / "paragraphs.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            texts += [t.strip() for t in re.split(r"(?<=[.!?。])\s+", row["text"]) if 3 <= len(t.strip()) <= 400]
    texts = list(dict.fromkeys(texts))
    random.Random(13).shuffle(texts)
    return (texts * (n // max(1, len(texts)) + 1))[:n]


def corpus() -> list[str]:
    return sentences(20_000)


def build_model(folder: Path) -> Path:
    from curate.models import tiny

    pairs = [(t, t) for t in sentences(2_000)]
    return tiny.build_once(
        folder,
        "marian-base-random-v2",
        lambda p: tiny.build_marian(
            p,
            pairs,
            corpus=corpus(),
            vocab_size=32_000,
            d_model=512,
            layers=6,
            heads=8,
            ffn_dim=2048,
            max_length=256,
            fill_vocab=True,
        ),
    )


def timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, default=128)
    parser.add_argument("--length", type=int, default=16, help="output tokens per sentence (all configurations)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=2, help="runs per configuration; the best is reported")
    parser.add_argument("--models", type=Path, default=Path(tempfile.gettempdir()) / "curate-bench-models")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    import polars as pl
    import torch

    from curate.augment.translate import Decoding, Seq2SeqModel
    from curate.stages.base import StepContext
    from curate.stages.registry import get_step

    torch.set_num_threads(args.threads)
    path = build_model(args.models / "marian-base-random")
    texts = sentences(args.sentences)
    cache = args.models / "cache"
    sorted_batches = Decoding(beam_size=4, max_length=args.length, min_length=args.length, batch_size=args.batch)
    in_order = sorted_batches

    hf = Seq2SeqModel(str(path), engine="transformers", device="cpu")
    hf_int8 = Seq2SeqModel(str(path), engine="transformers", device="cpu")
    hf_int8.model = torch.ao.quantization.quantize_dynamic(hf_int8.model, {torch.nn.Linear}, dtype=torch.qint8)

    def ct2_model(compute_type: str, workers: int) -> Seq2SeqModel:
        return Seq2SeqModel(
            str(path),
            engine="ctranslate2",
            device="cpu",
            compute_type=compute_type,
            threads=args.threads,
            workers=workers,
            cache_dir=cache,
        )

    serial_f32, serial_int8, parallel_int8 = ct2_model("float32", 1), ct2_model("int8", 1), ct2_model("int8", 0)

    def unsorted(model):
        """Batches in input order: the length sorting switched off."""
        from curate.augment import ct2

        original = ct2.length_sorted_batches
        ct2.length_sorted_batches = lambda lengths, size: [
            list(range(i, min(i + size, len(lengths)))) for i in range(0, len(lengths), size)
        ]
        try:
            return model.translate(texts, in_order)
        finally:
            ct2.length_sorted_batches = original

    def by_length(model):
        return model.translate(texts, sorted_batches)

    workers = parallel_int8.workers
    per_worker = max(1, args.threads // workers)
    rows = []
    for label, model, run in [
        ("transformers generate fp32, batches in input order", hf, unsorted),
        ("transformers generate fp32, batches sorted by length", hf, by_length),
        ("transformers generate, torch dynamic int8, sorted by length", hf_int8, by_length),
        (f"ctranslate2 fp32, one batch at a time ({args.threads} threads), input order", serial_f32, unsorted),
        (f"ctranslate2 fp32, one batch at a time ({args.threads} threads), sorted by length", serial_f32, by_length),
        (f"ctranslate2 int8, one batch at a time ({args.threads} threads), sorted by length", serial_int8, by_length),
        (
            f"ctranslate2 int8, {workers} batches at once ({per_worker} thread each), sorted by length",
            parallel_int8,
            by_length,
        ),
    ]:
        model.translate(texts[:8], sorted_batches)  # warm up (first calls allocate and pick kernels)
        before = model.tokens_out
        seconds = min(timed(lambda run=run, model=model: run(model))[0] for _ in range(args.repeat))
        tokens = (model.tokens_out - before) / len(texts) / args.repeat
        rows.append((label, len(texts) / seconds, seconds, tokens))
        print(f"  {label}: {len(texts) / seconds:.1f} sentences/s", file=sys.stderr, flush=True)

    # the whole step: ctranslate2 int8 (the CPU default), sorted, with tokenization, validation and row building
    frame = pl.DataFrame(
        {
            "_id": [f"r{i}" for i in range(len(texts))],
            "_source": "bench",
            "_row": list(range(len(texts))),
            "text": texts,
            "target": texts,
        }
    )
    step = get_step("backtranslate").from_dict(
        {
            "model": str(path),
            "field": "text",
            "into": "target",
            "source_lang": "eng",
            "target_lang": "eng",
            "beam_size": 4,
            "max_length": args.length,
            "batch_size": args.batch,
            "cache_dir": str(cache),
            "threads": args.threads,
            "device": "cpu",
            "compute_type": "int8",
        },
        StepContext(seed=13),
    )
    step.setup()
    from curate.augment import translate

    original = translate.Seq2SeqModel._ct2_batch

    def forced(self, sources, prefix, d, **options):  # the step's decoding, with the others' equal output lengths
        return original(
            self,
            sources,
            prefix,
            Decoding(
                beam_size=d.beam_size, n=d.n, max_length=args.length, min_length=args.length, batch_size=d.batch_size
            ),
            **options,
        )

    translate.Seq2SeqModel._ct2_batch = forced
    try:
        step.process(frame[:8])  # warm up, as for the others
        seconds = min(timed(lambda: step.process(frame))[0] for _ in range(args.repeat))
    finally:
        translate.Seq2SeqModel._ct2_batch = original
    rows.append(
        (
            "the backtranslate step (as above, + tokenization, validation, rows)",
            len(texts) / seconds,
            seconds,
            float("nan"),
        )
    )

    best_hf = max(r[1] for r in rows if r[0].startswith("transformers"))
    same_batches = rows[1][1]  # transformers generate fp32, batches sorted by length
    lengths = sorted(len(hf.tokenizer(t)["input_ids"]) for t in texts)
    print(
        f"\nbacktranslate speed: {len(texts)} sentences (input tokens: median {lengths[len(lengths) // 2]}, "
        f"min {lengths[0]}, max {lengths[-1]}), beam 4, {args.length} output tokens each, batch {args.batch}, "
        f"{args.threads} threads, best of {args.repeat}; Marian-base sized model (d512, 6+6 layers, 32k vocab, "
        f"random weights); load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after\n"
    )
    print(
        "| configuration | sentences/s | seconds | output tokens/sentence | vs transformers fp32 sorted | "
        "vs best transformers |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for label, rate, seconds, tokens in rows:
        tok = "" if math.isnan(tokens) else f"{tokens:.1f}"
        print(f"| {label} | {rate:.1f} | {seconds:.1f} | {tok} | {rate / same_batches:.2f}x | {rate / best_hf:.2f}x |")
    step_rate = rows[-1][1]
    verdict = "met" if step_rate >= 2 * same_batches else "NOT met"
    print(
        f"\ngoal (the step >= 2x transformers generate fp32 with the same batches): {verdict} "
        f"({step_rate / same_batches:.2f}x; {step_rate / best_hf:.2f}x the best transformers row)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
