"""Per-language evaluation: loss on the references, chrF and BLEU (sacrebleu) on generated outputs, samples.

Languages are scored apart, and the overall chrF/BLEU is their macro-average, so a low-resource language with 30 rows
counts as much as one with 3,000 (a micro-average would hide it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from curate.train.data import Encoded, Examples, collate, generation_batch, length_sorted_batches

ALL = "all"
# sacrebleu tokenisation for BLEU by ISO 639-3 code: Chinese has its own; scripts written without spaces go by character
_BLEU_TOKENIZE = {
    **dict.fromkeys(["zho", "cmn", "yue", "wuu", "lzh", "zh"], "zh"),
    **dict.fromkeys(["jpn", "tha", "lao", "khm", "mya", "bod", "dzo", "ja", "th", "lo", "km", "my"], "char"),
}


def bleu_tokenize(lang: str) -> str:
    return _BLEU_TOKENIZE.get(lang, "13a")


@dataclass
class LanguageScore:
    lang: str
    name: str
    rows: int
    loss: float | None = None
    chrf: float | None = None
    bleu: float | None = None
    tokens: int = 0
    judge: float | None = None  # mean judge score (1-5) of the outputs it rated


@dataclass
class EvalResult:
    split: str
    languages: list[LanguageScore]
    overall: LanguageScore
    samples: list[dict[str, str]] = field(default_factory=list)
    generated: bool = False
    outputs: list[str] | None = None  # every generated output, in the rows' order (not in the JSON)

    def metric(self, name: str) -> float | None:
        return getattr(self.overall, name)

    def to_json(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "generated": self.generated,
            "overall": asdict(self.overall),
            "languages": {s.lang: asdict(s) for s in self.languages},
            "samples": self.samples,
        }


def token_losses(model: Any, batch: dict[str, Any], task: str) -> tuple[Any, Any]:
    """Summed cross-entropy and target-token count per example (the loop weights them; evaluation groups them)."""
    import torch.nn.functional as F

    labels = batch["labels"]
    if task == "seq2seq":
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=labels).logits
        targets = labels
    else:
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
        targets = labels[:, 1:]
    ce = F.cross_entropy(
        logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100, reduction="none"
    ).view(targets.shape)
    mask = targets != -100
    return (ce * mask).sum(dim=1), mask.sum(dim=1)


def to_device(batch: dict[str, np.ndarray], device: str) -> dict[str, Any]:
    import torch

    return {k: torch.from_numpy(v).to(device) for k, v in batch.items()}


def example_losses(
    model: Any, encoded: Encoded, task: str, device: str, dtype: Any, pad_id: int, batch_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per example: summed loss and token count, in batches of similar length."""
    import torch

    sums, counts = np.zeros(len(encoded.input_ids)), np.zeros(len(encoded.input_ids), dtype=np.int64)
    was_training = model.training
    model.eval()
    with torch.no_grad(), _autocast(device, dtype):
        for idx in length_sorted_batches([len(x) for x in encoded.input_ids], batch_size):
            s, c = token_losses(model, to_device(collate(encoded, idx, pad_id, task), device), task)
            sums[idx], counts[idx] = s.float().cpu().numpy(), c.cpu().numpy()
    model.train(was_training)
    return sums, counts


def generate(
    model: Any,
    tokenizer: Any,
    encoded: Encoded,
    task: str,
    device: str,
    dtype: Any,
    batch_size: int,
    max_new_tokens: int,
    num_beams: int = 1,
    progress: Callable[[int], None] | None = None,
) -> list[str]:
    """Greedy (or beam) outputs for every example, decoded without special tokens."""
    import torch

    outputs: list[str] = [""] * len(encoded.input_ids)
    was_training = model.training
    model.eval()
    with torch.no_grad(), _autocast(device, dtype):
        for idx in length_sorted_batches(encoded.prompt_lengths, batch_size):
            batch = to_device(generation_batch(encoded, idx, tokenizer.pad_token_id, task), device)
            out = model.generate(
                **batch,
                max_new_tokens=max_new_tokens,
                num_beams=num_beams,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
            )
            if task == "causal":
                out = out[:, batch["input_ids"].shape[1] :]
            texts = tokenizer.batch_decode(out, skip_special_tokens=True)
            for i, text in zip(idx, texts):
                outputs[i] = text.strip()
            if progress:
                progress(len(idx))
    model.train(was_training)
    return outputs


def _autocast(device: str, dtype: Any) -> Any:
    import contextlib

    import torch

    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type="cuda" if device == "cuda" else "cpu", dtype=dtype)


def corpus_scores(hypotheses: list[str], references: list[str], lang: str) -> tuple[float, float]:
    """(chrF, BLEU) of one language's outputs with sacrebleu's defaults (chrF: character 6-grams, beta 2)."""
    import sacrebleu

    if not hypotheses:
        return 0.0, 0.0
    chrf = sacrebleu.corpus_chrf(hypotheses, [references]).score
    bleu = sacrebleu.corpus_bleu(hypotheses, [references], tokenize=bleu_tokenize(lang)).score
    return round(float(chrf), 2), round(float(bleu), 2)


def score(
    examples: Examples,
    split: str,
    sums: np.ndarray,
    counts: np.ndarray,
    names: dict[str, str],
    predictions: list[str] | None = None,
    samples_per_language: int = 0,
) -> EvalResult:
    """Group losses (and generated outputs) by language; the overall row is token-weighted loss and macro chrF/BLEU."""
    langs = examples.langs
    targets = examples.targets
    sources = examples.sources
    results, samples = [], []
    for lang in sorted(set(langs.tolist())):
        idx = np.flatnonzero(langs == lang)
        tokens = int(counts[idx].sum())
        item = LanguageScore(
            lang,
            names.get(lang, lang),
            len(idx),
            tokens=tokens,
            loss=round(float(sums[idx].sum() / tokens), 4) if tokens else None,
        )
        if predictions is not None:
            item.chrf, item.bleu = corpus_scores([predictions[i] for i in idx], [targets[i] for i in idx], lang)
            for i in idx[:samples_per_language]:
                samples.append({"lang": lang, "input": sources[i], "reference": targets[i], "output": predictions[i]})
        results.append(item)
    total_tokens = int(counts.sum())
    overall = LanguageScore(
        ALL,
        "macro average" if predictions is not None else "all",
        len(langs),
        tokens=total_tokens,
        loss=round(float(sums.sum() / total_tokens), 4) if total_tokens else None,
    )
    if predictions is not None and results:
        overall.chrf = round(float(np.mean([r.chrf for r in results])), 2)
        overall.bleu = round(float(np.mean([r.bleu for r in results])), 2)
    return EvalResult(split, results, overall, samples, generated=predictions is not None, outputs=predictions)


def evaluate(
    model: Any,
    tokenizer: Any,
    examples: Examples,
    encoded: Encoded,
    task: str,
    device: str,
    dtype: Any,
    *,
    split: str,
    batch_size: int,
    generate_outputs: bool,
    max_new_tokens: int,
    num_beams: int = 1,
    samples_per_language: int = 0,
    progress: Callable[[int], None] | None = None,
) -> EvalResult:
    from curate.train.data import language_name

    sums, counts = example_losses(model, encoded, task, device, dtype, tokenizer.pad_token_id, batch_size)
    predictions = None
    if generate_outputs:
        predictions = generate(
            model, tokenizer, encoded, task, device, dtype, batch_size, max_new_tokens, num_beams, progress
        )
    names = {lang: language_name(lang) for lang in set(examples.langs.tolist())}
    return score(examples, split, sums, counts, names, predictions, samples_per_language)


@dataclass
class Evaluator:
    """Scores evaluation sets with one tokenizer and one set of generation settings, whatever the model."""

    tokenizer: Any
    task: str
    device: str
    dtype: Any
    batch_size: int
    max_new_tokens: int
    max_source: int
    max_target: int
    num_beams: int = 1
    samples_per_language: int = 0

    def encode(self, examples: Examples) -> Encoded:
        from curate.train.data import encode

        return encode(examples, self.tokenizer, self.task, self.max_source, self.max_target)

    def __call__(self, model: Any, eval_set: Any, generate_outputs: bool = True) -> EvalResult:
        if eval_set.encoded is None:
            eval_set.encoded = self.encode(eval_set.examples)
        return evaluate(
            model,
            self.tokenizer,
            eval_set.examples,
            eval_set.encoded,
            self.task,
            self.device,
            self.dtype,
            split=eval_set.name,
            batch_size=self.batch_size,
            generate_outputs=generate_outputs,
            max_new_tokens=self.max_new_tokens,
            num_beams=self.num_beams,
            samples_per_language=self.samples_per_language,
        )

    def all(self, model: Any, sets: list[Any]) -> dict[str, EvalResult]:
        return {s.name: self(model, s) for s in sets}
