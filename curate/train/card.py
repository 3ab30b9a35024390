"""The model card (`OUTPUT/README.md`, Hugging Face format) of a `curate train` run, written from its metrics.

It links the dataset card and names the recipe hash, so a model can be traced to the exact curated data. Like the
dataset card it holds no row content: generated samples stay in `samples.jsonl`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from curate.core.languages import hub_code
from curate.io.writers import write_text_atomic


def _pipeline_tag(task: str, languages: list[str], prompt: str) -> str:
    if task == "causal":
        return "text-generation"
    return "translation" if len(languages) >= 1 and "{input}" in prompt else "text2text-generation"


def card_header(metrics: dict[str, Any]) -> dict[str, Any]:
    langs = sorted({hub_code(lang) for lang in metrics["data"]["languages"] if lang not in ("und", "")})
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


def _training_rows(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    config, data, train = metrics["config"], metrics["data"], metrics["train"]
    share = metrics["parameters"]["trainable_share"]
    method = "LoRA" if metrics["method"] == "lora" else "full fine-tune"
    continued = (metrics.get("continual") or {}).get("init_adapter")
    rows = [
        ("base model", f"`{metrics['base_model']}`"),
        ("task", metrics["task"]),
        ("method", method + (f", continuing the adapter `{continued}`" if continued else "")),
        (
            "trainable parameters",
            f"{metrics['parameters']['trainable']:,} of {metrics['parameters']['total']:,} ({share:.2%})",
        ),
    ]
    tasks = data.get("tasks") or []
    if len(tasks) > 1:
        rows += [
            (f"task `{t['name']}`", f"`{t['dir']}`, weight {t['weight']:g}, prompt `{t['prompt']}`, {t['rows']:,} rows")
            for t in tasks
        ]
    else:
        rows.append(("prompt template", f"`{config['prompt']}`"))
    rows += [
        ("training rows", f"{data['train_rows']:,} ({', '.join(f'{k}: {v:,}' for k, v in data['languages'].items())})"),
        ("language sampling temperature", f"{config['sampling']['temperature']:g}"),
        ("class weights", "yes (weights.json)" if data.get("class_weights") else "no"),
        (
            "steps",
            f"{train['steps']:,} of {train['total_steps']:,}" + (" (stopped early)" if train["stopped_early"] else ""),
        ),
        ("batch", f"{config['batch_size']} x {config['gradient_accumulation']} accumulation"),
        (
            "learning rate",
            f"{metrics['learning_rate']:g} ({config['lr_scheduler']}, warm-up {config['warmup_ratio']:g})",
        ),
        (
            "device",
            f"{metrics['device']} ({metrics['precision']}{', ' + metrics['quantize'] + ' base' if metrics['quantize'] != 'none' else ''})",
        ),
        ("training time", f"{train['seconds']:.1f} s"),
    ]
    if train.get("best_step"):
        rows.append(("weights kept", f"step {train['best_step']} (best {config['eval']['metric']})"))
    return rows


def _evaluation(title: str, comparison: dict[str, Any], judge: dict[str, Any] | None = None) -> list[str]:
    from curate.train.compare import explain, forgetting_lines, markdown

    lines = [f"## {title}", "", explain(comparison), ""]
    if judge:
        lines += [
            f"Judge: `{judge['model']}` ({judge['backend']}), judged against {judge['against']}; "
            f"{judge['scored']:,} outputs scored, {judge['errors']:,} answers without a score "
            "(see `judge.jsonl`).",
            "",
        ]
    lines += [markdown(comparison).rstrip(), ""]
    flags = forgetting_lines(comparison)
    if flags:
        lines += ["**Catastrophic forgetting:**", "", *[f"- {f}" for f in flags], ""]
    return lines


def _later_evaluations(output: Path) -> list[str]:
    """`curate eval` results and human ratings kept in the folder."""
    lines: list[str] = []
    for path in sorted(output.glob("eval-*.json")):
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(found, dict) and found.get("comparison"):
            title = f"Evaluation on the {found['split']} split (`curate eval`)"
            lines += _evaluation(title, found["comparison"], found.get("judge"))
    ratings = output / "ratings.json"
    if ratings.is_file():
        from curate.review.ratings import markdown_report

        report = json.loads(ratings.read_text(encoding="utf-8"))
        lines += ["## Human ratings", "", markdown_report(report).rstrip(), ""]
    return lines


def render_card(metrics: dict[str, Any], output: Path) -> str:
    config, data = metrics["config"], metrics["data"]
    header = yaml.safe_dump(card_header(metrics), sort_keys=False, allow_unicode=True).strip()
    lines = ["---", header, "---", "", f"# {config['name']}", ""]
    lora = config["lora"]
    what = "A full fine-tune of"
    if metrics["method"] == "lora":
        what = f"A LoRA adapter (r={lora['r']}, alpha={lora['alpha']}) for"
    card_link = _rel(data.get("card"), output)
    dataset = f"the curated dataset `{data.get('name') or data['dir']}`"
    if card_link:
        dataset += f" ([dataset card]({card_link}))"
    others = [t for t in data.get("tasks") or [] if t["dir"] != data["dir"]]
    for t in others:
        link = _rel(t.get("card"), output)
        dataset += f", `{t['name_in_manifest'] or t['dir']}`" + (f" ([dataset card]({link}))" if link else "")
    lines += [f"{what} `{metrics['base_model']}`, trained with `curate train` on {dataset}.", ""]
    hashes = [t["recipe_hash"] for t in data.get("tasks") or [] if t.get("recipe_hash")] or [data.get("recipe_hash")]
    if any(hashes):
        lines += [f"Recipe hash: {', '.join(f'`{h}`' for h in hashes if h)} (in the dataset's `manifest.json`).", ""]
    lines += ["## Training", "", "| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in _training_rows(metrics)] + [""]
    comparison = metrics.get("comparison")
    if comparison:
        lines += _evaluation(f"Evaluation ({metrics['eval'].get('split') or data.get('eval_split')} split)", comparison)
    lines += _later_evaluations(output)
    lines += _use(metrics, output)
    return "\n".join(lines)


def _use(metrics: dict[str, Any], output: Path) -> list[str]:
    lines = ["## Use", "", "```python"]
    auto = "AutoModelForSeq2SeqLM" if metrics["task"] == "seq2seq" else "AutoModelForCausalLM"
    lines.append(f"from transformers import AutoTokenizer, {auto}")
    if metrics["method"] == "lora":
        lines += [
            "from peft import PeftModel",
            "",
            f"base = {auto}.from_pretrained({metrics['base_model']!r})",
            f"model = PeftModel.from_pretrained(base, {output.as_posix()!r})",
        ]
    else:
        lines += ["", f"model = {auto}.from_pretrained({output.as_posix()!r})"]
    lines += [f"tokenizer = AutoTokenizer.from_pretrained({output.as_posix()!r})", "```", ""]
    lines += [
        (
            "Inputs are written with the prompt template above. `metrics.json` holds every figure, `samples.jsonl` "
            "a few generated outputs per language (with the base model's), `train_config.yaml` the resolved "
            "training config."
        ),
        "",
    ]
    if metrics.get("command"):
        lines += ["## Reproduce", "", "```bash", metrics["command"], "```", ""]
    return lines


def write_card(output: Path) -> Path:
    """(Re)write the card from the folder's figures: metrics.json, then `curate eval` results and human ratings."""
    output = Path(output)
    metrics = json.loads((output / "metrics.json").read_text(encoding="utf-8"))
    path = output / "README.md"
    write_text_atomic(path, render_card(metrics, output))
    return path
