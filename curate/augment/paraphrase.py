"""LLM paraphrasing of a batch: a prompt per row from its language's template, `n` requests per row (each with its
own seed, so reruns ask the same questions), answers cleaned, validated and turned into synthetic rows."""

from __future__ import annotations

from collections import Counter
from typing import Literal

import polars as pl
from pydantic import Field, field_validator, model_validator

from curate.augment.backtranslate import row_languages
from curate.augment.llm import Backend, ChatRequest, GenParams
from curate.augment.prompts import (
    check_template,
    clean_answer,
    render_prompt,
    template_for,
)
from curate.augment.synth import (
    Generated,
    SynthConfig,
    assemble,
    origin,
    row_seeds,
    selection,
)
from curate.augment.validate import Detector
from curate.credentials import check_key_env
from curate.stages.base import StepResult


class ParaphraseConfig(SynthConfig):
    field: str = Field("text", description="column to paraphrase")
    lang: str | None = Field(None, description="language of `field` (ISO 639); default: the row's `{field}_lang` "
                             "(rows without one are left alone)")  # fmt: skip
    backend: Literal["local", "http"] = Field(
        "local", description="local: a causal LM run here (Transformers or CTranslate2); http: an OpenAI-compatible "
        "endpoint (vLLM, Ollama, llama.cpp server, TGI, `transformers serve`)",
    )  # fmt: skip
    model: str = Field(..., description="local: a chat model's hub id (local cache) or folder; http: the model name "
                       "the server serves")  # fmt: skip
    engine: Literal["ctranslate2", "transformers"] = Field("ctranslate2", description="local backend: decode on "
                                                           "CTranslate2 (converted once, cached) or Transformers")  # fmt: skip
    chat_template: bool = Field(True, description="local backend: wrap the prompt in the model's chat template")
    base_url: str | None = Field(None, description="http backend: the endpoint, e.g. http://localhost:8000/v1")
    api_key_env: str | None = Field("OPENAI_API_KEY", description="http backend: environment variable holding the API "
                                    "key (never written in recipes, logs or manifests); its name must end in _API_KEY "
                                    "or _TOKEN, or be listed in $CURATE_ALLOW_KEY_ENV")  # fmt: skip
    concurrency: int = Field(4, ge=1, le=256, description="http backend: requests in flight at once")
    retries: int = Field(4, ge=0, le=20, description="http backend: retries of a failed request (connection errors, "
                         "timeouts, 429, 5xx), with exponential backoff")  # fmt: skip
    backoff: float = Field(1.0, ge=0, description="http backend: first wait in seconds (doubles each retry, at most 30)")
    timeout: float = Field(120.0, gt=0, description="http backend: seconds to wait for one answer")
    cache: bool = Field(True, description="http backend: keep every answer on disk (keyed by model, prompt and "
                        "parameters): a rerun sends nothing it sent before")  # fmt: skip
    prompts: dict[str, str] = Field(
        default_factory=dict, description="prompt template per language code, plus `default`; placeholders "
        "`{text}` and `{language}` (its English name). Built-in default: a plain 'paraphrase, same language' prompt",
    )  # fmt: skip
    system: str | None = Field(None, description="system message sent before the prompt")
    temperature: float = Field(0.8, ge=0, le=5, description="sampling temperature (0: greedy)")
    top_p: float = Field(0.95, gt=0, le=1, description="nucleus sampling")
    top_k: int = Field(0, ge=0, description="top-k sampling (0: off)")
    max_new_tokens: int = Field(256, ge=1, description="at most this many tokens per answer")

    @field_validator("api_key_env")
    @classmethod
    def _key_env(cls, value: str | None) -> str | None:
        return None if value is None else check_key_env(value)

    @field_validator("prompts")
    @classmethod
    def _templates(cls, value: dict[str, str]) -> dict[str, str]:
        for template in value.values():
            check_template(template)
        return value

    @model_validator(mode="after")
    def _backend_needs(self) -> ParaphraseConfig:
        if self.backend == "http" and not self.base_url:
            raise ValueError("backend `http` needs `base_url` (e.g. http://localhost:8000/v1)")
        return self

    def params(self) -> GenParams:
        return GenParams(temperature=self.temperature, top_p=self.top_p, top_k=self.top_k,
                         max_new_tokens=self.max_new_tokens)  # fmt: skip

    def origin_params(self) -> dict:
        return {"backend": self.backend, "engine": self.engine if self.backend == "local" else None,
                "prompts": self.prompts, "system": self.system, "chat_template": self.chat_template,
                **self.params().as_dict(), "field": self.field}  # fmt: skip


def messages_for(config: ParaphraseConfig, text: str, lang: str) -> list[dict[str, str]]:
    user = render_prompt(template_for(config.prompts, lang), text, lang)
    return ([{"role": "system", "content": config.system}] if config.system else []) + [{"role": "user", "content": user}]


def paraphrase(batch: pl.DataFrame, config: ParaphraseConfig, backend: Backend, detector: Detector | None,
               seed: int, salt: str = "") -> StepResult:  # fmt: skip
    c = config
    rows = selection(batch, c, c.field, seed, "paraphrase").arg_true().to_list()
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
    return assemble(batch, generated, c.field, c.validation, detector, stats, salt)
