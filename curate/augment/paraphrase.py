"""LLM paraphrasing of a batch: a prompt per row from its language's template, `n` requests per row (each with its
own seed, so reruns ask the same questions), answers cleaned into candidates for synthetic rows (the step validates
them)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import polars as pl

from curate.augment.backtranslate import row_languages
from curate.augment.llm import Backend, ChatRequest
from curate.augment.synth import Generated, origin, row_seeds
from curate.models.prompts import clean_answer, render_prompt, template_for


def messages_for(config: Any, text: str, lang: str) -> list[dict[str, str]]:
    user = render_prompt(template_for(config.prompts, lang), text, lang)
    return ([{"role": "system", "content": config.system}] if config.system else []) + [
        {"role": "user", "content": user}
    ]


def paraphrase(
    batch: pl.DataFrame, rows: list[int], config: Any, backend: Backend, seed: int
) -> tuple[Generated, Counter]:
    """Rewrites of `rows` (indices into `batch`) by the backend, `config.n` per row. `config` is the paraphrase step's
    config (field, lang, prompts, system, sampling...)."""
    c = config
    langs = row_languages(batch, rows, c.lang, f"{c.field}_lang")
    known = [(r, lang) for r, lang in zip(rows, langs) if lang is not None]
    stats = Counter({"synthetic:rows_selected": len(known), "synthetic:rows_without_language": len(rows) - len(known)})
    generated = Generated()
    if known:
        texts = batch[c.field].cast(pl.String).to_list()
        ids = batch["_id"].to_list()
        jobs = [(r, lang, v) for r, lang in known for v in range(c.n)]
        seeds = row_seeds([ids[r] for r, _, _ in jobs], [v for _, _, v in jobs], seed)
        requests = [ChatRequest(messages_for(c, texts[r], lang), s) for (r, lang, _), s in zip(jobs, seeds)]
        before = (backend.stats.requests, backend.stats.cached, backend.stats.retries)
        answers = backend.complete(requests, c.params())
        tag = origin("paraphrase", c.model, c.origin_params())
        for (r, lang, v), answer in zip(jobs, answers):
            text = clean_answer(answer.text) if answer.text is not None else None
            generated.add(r, v, text, texts[r], lang, tag, texts[r], error=answer.error)
        after = (backend.stats.requests, backend.stats.cached, backend.stats.retries)
        stats["paraphrase:requests_sent"] += after[0] - before[0]
        stats["paraphrase:answers_from_cache"] += after[1] - before[1]
        stats["paraphrase:retries"] += after[2] - before[2]
    return generated, stats
