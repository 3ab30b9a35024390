"""Gain and forgetting: LoRA, a full fine-tune and a fine-tune with frozen layers, on a model that translates a little.

Offline, from the shared parallel data (`shared/eval/parallel`, Tatoeba), with `curate run` and `curate train`:

1. curate English->French/German/Spanish pairs (the pretraining data) and English->Swahili pairs (the new pair);
2. build a small MarianMT (a byte-level BPE on all of it; d_model 256, 3+3 layers, random weights) and pretrain it
   fully on the first three pairs, so that it translates a little;
3. fine-tune it on English->Swahili three ways: LoRA, full, and full with the embeddings and the encoder frozen;
   every run scores the model before and after on the Swahili test split and, as a retain set, on the pretraining
   pairs' test split (`retain:`), the table `curate train` prints;
4. print per method: the chrF gain on the new pair, the chrF change on each retained pair, the trainable share, the
   peak RSS of the run and its training time.

    python bench/forgetting.py                     # about 15 minutes on 2 cores
    python bench/forgetting.py --reuse             # keep the pretrained model of an earlier run (WORK/pretrained)
    python bench/forgetting.py --pretrain-steps 600 --steps 100   # a quicker, rougher run

Each `curate train` runs in a process of its own, so each peak RSS is its own. Figures depend on the machine and on
its load: the README gives the machine and the date with them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PARALLEL = ROOT.parent / "shared" / "eval" / "parallel"
RETAINED = ("fra", "deu", "spa")  # file names and the rows' tgt_lang
NEW, NEW_FILE = "swh", "swa"  # eng-swa.jsonl holds tgt_lang swh (individual Swahili)
PROMPT = ">>{target_lang}<< {input}"
METHODS = {
    "LoRA r=16": {"full": False, "lora": {"r": 16, "alpha": 32, "dropout": 0.0}, "learning_rate": 3e-3},
    "full": {"full": True, "learning_rate": 5e-4},
    "frozen emb.+encoder": {"full": True, "learning_rate": 5e-4, "freeze": ["model.shared.*", "model.encoder.*"]},
}


def curate_pairs(work: Path, name: str, langs: tuple[str, ...]) -> Path:
    """`curate run` on the pairs of `langs` (70% train, 10% validation, 20% test, by a hash of each row)."""
    out = work / "data" / name
    recipe = {
        "name": f"bench-{name}",
        "seed": 13,
        "steps": [],
        "sources": [
            {
                "path": os.path.relpath(PARALLEL / f"eng-{lang}.jsonl", work),  # relative: stable row ids
                "columns": {"text": "src", "target": "tgt"},
            }
            for lang in langs
        ],
        "output": {"dir": str(out), "splits": {"train": 0.7, "validation": 0.1, "test": 0.2}},
    }
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
    run([sys.executable, "-m", "curate", "run", str(path), "-q"])
    return out


def run(cmd: list[str]) -> str:
    """A command's standard output; its progress (standard error) goes to the terminal."""
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if done.returncode != 0:
        sys.exit(f"`{' '.join(cmd)}` failed ({done.returncode})")
    return done.stdout


def build_base(work: Path, args: argparse.Namespace, folders: list[Path]) -> Path:
    """A random MarianMT whose tokenizer knows all four target languages (as a multilingual model's does)."""
    from curate.models.tiny import build_tiny, texts_from

    texts = [t for folder in folders for t in texts_from(folder)]
    return build_tiny(
        "marian",
        work / "random",
        texts,
        vocab_size=args.vocab,
        d_model=args.d_model,
        layers=args.layers,
        heads=4,
        ffn_dim=4 * args.d_model,
        init_std=0.02,
    )


def train_config(name: str, base: Path, data: Path, out: Path, steps: int, threads: int, **settings) -> dict:
    config = {
        "name": name,
        "base_model": str(base),
        "data": {
            "dir": str(data),
            "eval_split": "test",
            "target_lang_column": "tgt_lang",
            "max_eval_rows_per_language": 80,
        },
        "prompt": PROMPT,
        "max_steps": steps,
        "batch_size": 32,
        "warmup_ratio": 0.05,
        "lr_scheduler": "cosine",
        "max_source_length": 64,
        "max_target_length": 64,
        "cpu_threads": threads,
        "output_dir": str(out),
        "eval": {"every_steps": steps, "max_new_tokens": 48, "batch_size": 64, "samples_per_language": 2},
    }
    config.update(settings)
    return config


def train_once(config_path: Path) -> dict:
    """`--one`: one `curate train` in this process; its metrics, peak RSS and wall time."""
    sys.path.insert(0, str(ROOT))
    from curate.core.progress import Reporter
    from curate.train.config import load_config
    from curate.train.runner import TrainOptions, run_training

    started = time.perf_counter()
    result = run_training(load_config(config_path), TrainOptions(overwrite=True), Reporter())
    return {
        "metrics_path": str(result.output / "metrics.json"),
        "wall_s": time.perf_counter() - started,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def train(work: Path, name: str, config: dict) -> dict:
    path = work / f"{name}.train.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    found = json.loads(run([sys.executable, __file__, "--one", str(path)]).strip().splitlines()[-1])
    found["metrics"] = json.loads(Path(found["metrics_path"]).read_text(encoding="utf-8"))
    return found


def chrf(metrics: dict, set_kind: str) -> dict[str, tuple[float, float]]:
    """{language: (base chrF, tuned chrF)} of the sets of one kind, from the comparison in metrics.json."""
    out = {}
    for s in metrics["comparison"]["sets"]:
        if s["kind"] == set_kind:
            for r in s["rows"]:
                if r["lang"] != "all":
                    out[r["lang"]] = (r["base"]["chrf"], r["tuned"]["chrf"])
    return out


def report(pretrain: dict, runs: dict[str, dict], args: argparse.Namespace, seconds: float) -> None:
    m = pretrain["metrics"]
    learned = {r["lang"]: r["tuned"]["chrf"] for r in m["comparison"]["sets"][0]["rows"] if r["lang"] != "all"}
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
        f"torch threads {args.threads or 1}; total {seconds / 60:.1f} min"
    )
    print(
        f"pretrained {m['parameters']['total']:,}-parameter MarianMT (d_model {args.d_model}, {args.layers}+{args.layers} "
        f"layers) for {m['train']['steps']} steps in {m['train']['seconds']:.0f} s on eng->"
        f"{'/'.join(RETAINED)}; test chrF " + ", ".join(f"{k} {v:.1f}" for k, v in learned.items())
    )
    head = [
        "method",
        "trainable",
        f"{NEW} chrF (gain)",
        *[f"{lang} chrF (change)" for lang in RETAINED],
        "forgetting flags",
        "peak RSS MB",
        "train s",
    ]
    rows = []
    for name, found in runs.items():
        metrics = found["metrics"]
        new, kept = chrf(metrics, "eval")[NEW], chrf(metrics, "retain")
        flags = len(metrics["comparison"]["forgetting"])
        gain = f"{new[0]:.1f} -> {new[1]:.1f} ({new[1] - new[0]:+.1f})"
        rows.append(
            [
                name,
                f"{metrics['parameters']['trainable_share']:.1%}",
                gain,
                *[f"{kept[lang][1]:.1f} ({kept[lang][1] - kept[lang][0]:+.1f})" for lang in RETAINED],
                str(flags),
                f"{found['peak_rss_mb']:.0f}",
                f"{metrics['train']['seconds']:.0f}",
            ]
        )
    print(
        f"fine-tuned on eng->{NEW} for {args.steps} steps (batch 32); chrF on the test splits, before -> after; "
        f"a retained drop over {args.tolerance:g} chrF is a forgetting flag"
    )
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=ROOT / "out" / "bench-forgetting")
    parser.add_argument("--pretrain-steps", type=int, default=1500)
    parser.add_argument("--pretrain-lr", type=float, default=1e-3)
    parser.add_argument("--steps", type=int, default=200, help="fine-tuning steps of each method")
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--vocab", type=int, default=4000)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: curate's, 1 for a model "
        "this small: on a busy machine a second thread spins more than it helps)",
    )
    parser.add_argument("--tolerance", type=float, default=1.0, help="retain_tolerance (chrF points)")
    parser.add_argument("--reuse", action="store_true", help="keep WORK/pretrained from an earlier run")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(train_once(args.one)))
        return
    started = time.perf_counter()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    old, new = curate_pairs(work, "pretrain", RETAINED), curate_pairs(work, "new", (NEW_FILE,))
    pretrained = work / "pretrained"
    if not (args.reuse and (pretrained / "metrics.json").is_file()):
        base = build_base(work, args, [old, new])
        config = train_config(
            "pretrain",
            base,
            old,
            pretrained,
            args.pretrain_steps,
            args.threads,
            full=True,
            learning_rate=args.pretrain_lr,
        )
        config["eval"]["compare_base"] = False  # a random model's outputs: nothing to compare with
        train(work, "pretrain", config)
    pretrain = {"metrics": json.loads((pretrained / "metrics.json").read_text(encoding="utf-8"))}
    retain = [{"name": "pretraining", "data": str(old), "split": "test"}]
    runs = {}
    for name, settings in METHODS.items():
        key = name.split()[0].lower()
        runs[name] = train(
            work,
            key,
            train_config(
                key,
                pretrained,
                new,
                work / "tuned" / key,
                args.steps,
                args.threads,
                retain=retain,
                retain_tolerance=args.tolerance,
                **settings,
            ),
        )
    report(pretrain, runs, args, time.perf_counter() - started)


if __name__ == "__main__":
    main()
