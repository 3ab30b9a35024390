"""The model card (`OUTPUT/README.md`, Hugging Face format) of a `curate train` run, written from its metrics.

It links the dataset card and names the recipe hash, so a model can be traced to the exact curated data. Like the
dataset card it holds no row content: generated samples stay in `samples.jsonl`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from curate.langid.codes import hub_code
from curate.io.writers import write_text_atomic


def _pipeline_tag(task: str, languages: list[str], prompt: str) -> str:
    if task == "causal":
        return "text-generation"
    return "translation" if len(languages) >= 1 and "{input}" in prompt else "text2text-generation"


def card_header(metrics: dict[str, Any]) -> dict[str, Any]:
    langs = sorted({hub_code(l) for l in metrics["data"]["languages"] if l not in ("und", "")})
    header: dict[str, Any] = {"base_model": metrics["base_model"]}
    header["library_name"] = "peft" if metrics["method"] == "lora" else "transformers"
    header["pipeline_tag"] = _pipeline_tag(metrics["task"], langs, metrics["config"]["prompt"])
    if langs:
        header["language"] = langs
    header["tags"] = ["curate", "lora" if metrics["method"] == "lora" else "full-fine-tune"]
    if metrics.get("eval", {}).get("generated"):
        header["metrics"] = ["chrf", "bleu"]
    return header


def _rel(target: str | None, start: Path) -> str | None:
    if not target:
        return None
    try:
        return Path(os.path.relpath(Path(target).resolve(), start.resolve())).as_posix()
    except ValueError:  # another drive
        return Path(target).as_posix()


def render_card(metrics: dict[str, Any], output: Path, table: str | None) -> str:
    config, data = metrics["config"], metrics["data"]
    header = yaml.safe_dump(card_header(metrics), sort_keys=False, allow_unicode=True).strip()
    lines = ["---", header, "---", "", f"# {config['name']}", ""]
    lora = config["lora"]
    what = f"A LoRA adapter (r={lora['r']}, alpha={lora['alpha']}) for" if metrics["method"] == "lora" else "A full fine-tune of"
    card_link = _rel(data.get("card"), output)
    dataset = f"the curated dataset `{data.get('name') or data['dir']}`"
    if card_link:
        dataset += f" ([dataset card]({card_link}))"
    lines += [f"{what} `{metrics['base_model']}`, trained with `curate train` on {dataset}.", ""]
    if data.get("recipe_hash"):
        lines += [f"Recipe hash: `{data['recipe_hash']}` (in the dataset's `manifest.json`).", ""]
    train = metrics["train"]
    share = metrics["parameters"]["trainable_share"]
    rows = [
        ("base model", f"`{metrics['base_model']}`"), ("task", metrics["task"]),
        ("method", "LoRA" if metrics["method"] == "lora" else "full fine-tune"),
        ("trainable parameters", f"{metrics['parameters']['trainable']:,} of {metrics['parameters']['total']:,} ({share:.2%})"),
        ("prompt template", f"`{config['prompt']}`"),
        ("training rows", f"{data['train_rows']:,} ({', '.join(f'{k}: {v:,}' for k, v in data['languages'].items())})"),
        ("language sampling temperature", f"{config['sampling']['temperature']:g}"),
        ("class weights", "yes (weights.json)" if data.get("class_weights") else "no"),
        ("steps", f"{train['steps']:,} of {train['total_steps']:,}" + (" (stopped early)" if train["stopped_early"] else "")),
        ("batch", f"{config['batch_size']} x {config['gradient_accumulation']} accumulation"),
        ("learning rate", f"{metrics['learning_rate']:g} ({config['lr_scheduler']}, warm-up {config['warmup_ratio']:g})"),
        ("device", f"{metrics['device']} ({metrics['precision']}{', ' + metrics['quantize'] + ' base' if metrics['quantize'] != 'none' else ''})"),
        ("training time", f"{train['seconds']:.1f} s"),
    ]  # fmt: skip
    if train.get("best_step"):
        rows.append(("weights kept", f"step {train['best_step']} (best {config['eval']['metric']})"))
    lines += ["## Training", "", "| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows] + [""]
    if table:
        ev = metrics.get("eval", {})
        explain = ("Loss per target token; chrF and BLEU (sacrebleu) of generated outputs; the last row averages the "
                   "languages (macro).")  # fmt: skip
        lines += [f"## Evaluation ({ev.get('split')} split)", "", explain, "", table.rstrip(), ""]
    lines += ["## Use", "", "```python"]
    auto = "AutoModelForSeq2SeqLM" if metrics["task"] == "seq2seq" else "AutoModelForCausalLM"
    lines.append(f"from transformers import AutoTokenizer, {auto}")
    if metrics["method"] == "lora":
        lines += ["from peft import PeftModel", "",
                  f"base = {auto}.from_pretrained({metrics['base_model']!r})",
                  f"model = PeftModel.from_pretrained(base, {output.as_posix()!r})"]  # fmt: skip
    else:
        lines += ["", f"model = {auto}.from_pretrained({output.as_posix()!r})"]
    lines += [f"tokenizer = AutoTokenizer.from_pretrained({output.as_posix()!r})", "```", ""]
    lines += [("Inputs are written with the prompt template above. `metrics.json` holds every figure, `samples.jsonl` "
               "a few generated outputs per language, `train_config.yaml` the resolved training config."), ""]
    if metrics.get("command"):
        lines += ["## Reproduce", "", "```bash", metrics["command"], "```", ""]
    return "\n".join(lines)


def write_card(metrics: dict[str, Any], output: Path, table: str | None) -> Path:
    path = Path(output) / "README.md"
    write_text_atomic(path, render_card(metrics, Path(output), table))
    return path
