"""LoRA versus full fine-tune on one model of realistic shape: trainable share, peak memory and step time.

The model is MarianMT-shaped like Helsinki-NLP/opus-mt-* (d_model 512, 6 encoder and 6 decoder layers, 8 heads,
FFN 2048, a 32k vocabulary shared by encoder, decoder and output layer) with random weights: the figures depend on
the shape, not on the values. Both runs see the same batches (batch 8, 64 source and 64 target tokens), use AdamW
and the trainer's own loss (`curate.train.evaluate.token_losses`), and run in separate processes so each peak is its
own: peak RSS on the CPU, `torch.cuda.max_memory_allocated` on a GPU.

    python bench/train.py                    # LoRA r=16 (the trainer's `auto` targets) vs full, 6 timed steps each
    python bench/train.py --steps 10 --batch 16 --device cuda
    python bench/train.py --threads 1        # steadier CPU figures on a busy machine

"weights + grads + AdamW" is computed (fp32: 4 bytes per weight, 12 more per trainable one); it is what LoRA saves
whatever the batch. Peak RSS adds activations (which LoRA does not shrink: the frozen layers still pass gradients
back), the Python and library baseline, and the allocator's slack.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHAPE = {
    "vocab_size": 32000,
    "d_model": 512,
    "encoder_layers": 6,
    "decoder_layers": 6,
    "encoder_attention_heads": 8,
    "decoder_attention_heads": 8,
    "encoder_ffn_dim": 2048,
    "decoder_ffn_dim": 2048,
    "max_position_embeddings": 512,
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def run_one(
    mode: str,
    steps: int,
    warmup: int,
    batch: int,
    length: int,
    device: str,
    r: int,
    dropout: float,
    threads: int | None,
) -> dict:
    """One mode in this process: build, wrap (LoRA) or not (full), train `warmup + steps` steps, time the last ones."""
    sys.path.insert(0, str(ROOT))
    import torch
    from transformers import MarianConfig, MarianMTModel

    from curate.models.hf import quiet_libraries, resolve_device
    from curate.train.config import parse_config
    from curate.train.evaluate import to_device, token_losses
    from curate.train.loop import optimizer_for
    from curate.train.model import apply_lora, parameter_counts

    quiet_libraries()
    if threads:
        torch.set_num_threads(threads)
    device = resolve_device(device)
    torch.manual_seed(0)
    model = MarianMTModel(
        MarianConfig(**SHAPE, pad_token_id=SHAPE["vocab_size"] - 1, decoder_start_token_id=SHAPE["vocab_size"] - 1)
    ).to(device)
    rss_model = peak_rss_mb()
    if mode == "lora":
        config = parse_config({"base_model": "bench", "lora": {"r": r, "alpha": 2 * r, "dropout": dropout}})
        model = apply_lora(model, config, "seq2seq", False, False)
    trainable, total = parameter_counts(model)
    optimizer = optimizer_for(model, 2e-4 if mode == "lora" else 5e-5, 0.0, device)
    generator = torch.Generator().manual_seed(1)
    batches = []
    for _ in range(warmup + steps):
        ids = torch.randint(0, SHAPE["vocab_size"] - 1, (batch, length), generator=generator).numpy()
        labels = torch.randint(0, SHAPE["vocab_size"] - 1, (batch, length), generator=generator).numpy()
        batches.append({"input_ids": ids, "attention_mask": (ids * 0 + 1), "labels": labels})
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    model.train()
    times = []
    for i, b in enumerate(batches):
        start = time.perf_counter()
        sums, counts = token_losses(model, to_device(b, device), "seq2seq")
        loss = sums.sum() / counts.sum()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    result = {
        "mode": mode,
        "device": device,
        "threads": torch.get_num_threads(),
        "trainable": trainable,
        "total": total,
        "share": trainable / total,
        "step_s": statistics.median(times),
        "rss_model_mb": rss_model,
        "peak_rss_mb": peak_rss_mb(),
        # fp32 weights + gradients + AdamW's two moments of the trainable ones: what LoRA saves, exactly
        "state_mb": (total * 4 + trainable * 12) / 2**20,
    }
    if device == "cuda":
        result["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
        result["gpu"] = torch.cuda.get_device_name()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=6, help="timed steps per mode (after warm-up)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--length", type=int, default=64, help="source and target tokens per row")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--r", type=int, default=16, help="LoRA rank")
    parser.add_argument("--dropout", type=float, default=0.05, help="LoRA dropout (the trainer's default)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: torch's); 1 gives steadier figures on a machine shared with other work",
    )
    parser.add_argument("--one", choices=["lora", "full"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(
            json.dumps(
                run_one(
                    args.one,
                    args.steps,
                    args.warmup,
                    args.batch,
                    args.length,
                    args.device,
                    args.r,
                    args.dropout,
                    args.threads,
                )
            )
        )
        return
    results = {}
    for mode in ("lora", "full"):
        cmd = [
            sys.executable,
            __file__,
            "--one",
            mode,
            "--steps",
            str(args.steps),
            "--warmup",
            str(args.warmup),
            "--batch",
            str(args.batch),
            "--length",
            str(args.length),
            "--device",
            args.device,
            "--r",
            str(args.r),
            "--dropout",
            str(args.dropout),
        ] + (["--threads", str(args.threads)] if args.threads else [])
        done = subprocess.run(
            cmd, capture_output=True, text=True, check=False, env={**os.environ, "HF_HUB_OFFLINE": "1"}
        )
        if done.returncode != 0:
            sys.exit(f"{mode} failed:\n{done.stderr}")
        results[mode] = json.loads(done.stdout.strip().splitlines()[-1])
    lora, full = results["lora"], results["full"]
    gpu = "peak_gpu_mb" in lora
    print(
        f"MarianMT shape: d_model {SHAPE['d_model']}, {SHAPE['encoder_layers']}+{SHAPE['decoder_layers']} layers, "
        f"vocab {SHAPE['vocab_size']:,}; batch {args.batch} x {args.length}+{args.length} tokens; "
        f"{lora['device']}{' (' + lora['gpu'] + ')' if gpu else ''}, {lora['threads']} threads; "
        f"median of {args.steps} steps after {args.warmup} warm-up"
    )
    rows = [
        (
            "trainable parameters",
            f"{lora['trainable']:,}",
            f"{full['trainable']:,}",
            lora["trainable"] / full["trainable"],
        ),
        ("trainable share", f"{lora['share']:.2%}", f"{full['share']:.2%}", lora["share"] / full["share"]),
        (
            "weights + grads + AdamW (MB)",
            f"{lora['state_mb']:.0f}",
            f"{full['state_mb']:.0f}",
            lora["state_mb"] / full["state_mb"],
        ),
        ("step time (s)", f"{lora['step_s']:.3f}", f"{full['step_s']:.3f}", lora["step_s"] / full["step_s"]),
        (
            "peak RSS (MB)",
            f"{lora['peak_rss_mb']:.0f}",
            f"{full['peak_rss_mb']:.0f}",
            lora["peak_rss_mb"] / full["peak_rss_mb"],
        ),
        (
            "peak RSS over the model (MB)",
            f"{lora['peak_rss_mb'] - lora['rss_model_mb']:.0f}",
            f"{full['peak_rss_mb'] - full['rss_model_mb']:.0f}",
            (lora["peak_rss_mb"] - lora["rss_model_mb"]) / max(full["peak_rss_mb"] - full["rss_model_mb"], 1e-9),
        ),
    ]
    if gpu:
        rows.append(
            (
                "peak GPU memory (MB)",
                f"{lora['peak_gpu_mb']:.0f}",
                f"{full['peak_gpu_mb']:.0f}",
                lora["peak_gpu_mb"] / full["peak_gpu_mb"],
            )
        )
    width = max(len(r[0]) for r in rows)
    print(f"{'':<{width}}  {'LoRA r=' + str(args.r):>14}  {'full':>14}  {'LoRA/full':>9}")
    for name, a, b, ratio in rows:
        print(f"{name:<{width}}  {a:>14}  {b:>14}  {ratio:>9.3f}")


if __name__ == "__main__":
    main()
