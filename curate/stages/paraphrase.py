"""`paraphrase`: an LLM rewrites a column with a prompt template per language; valid rewrites become new rows.

Backends: a local chat model (Transformers or CTranslate2 `Generator`, with the model's chat template) or an
OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp server, TGI, `transformers serve`) with concurrency, retries
with backoff and an on-disk response cache keyed by model, prompt and parameters, so a rerun costs nothing.
Every rewrite is validated (language, length ratio, not a copy, not drifted, not a duplicate); failures are
rejects with reasons `synthetic:*`. See `curate.augment`.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

import polars as pl
from pydantic import Field, field_validator, model_validator

from curate.augment.llm import GenParams
from curate.augment.paraphrase import paraphrase
from curate.augment.synth import Generated
from curate.core.credentials import check_key_env
from curate.models.prompts import check_template
from curate.stages._synthetic import SynthConfig, SynthStep
from curate.stages.registry import register


class ParaphraseConfig(SynthConfig):
    field: str = Field("text", description="column to paraphrase")
    lang: str | None = Field(
        None,
        description="language of `field` (ISO 639); default: the row's `{field}_lang` "
        "(rows without one are left alone)",
    )
    backend: Literal["local", "http"] = Field(
        "local",
        description="local: a causal LM run here (Transformers or CTranslate2); http: an OpenAI-compatible "
        "endpoint (vLLM, Ollama, llama.cpp server, TGI, `transformers serve`)",
    )
    model: str = Field(
        ..., description="local: a chat model's hub id (local cache) or folder; http: the model name the server serves"
    )
    engine: Literal["ctranslate2", "transformers"] = Field(
        "ctranslate2", description="local backend: decode on CTranslate2 (converted once, cached) or Transformers"
    )
    chat_template: bool = Field(True, description="local backend: wrap the prompt in the model's chat template")
    base_url: str | None = Field(None, description="http backend: the endpoint, e.g. http://localhost:8000/v1")
    api_key_env: str | None = Field(
        "OPENAI_API_KEY",
        description="http backend: environment variable holding the API "
        "key (never written in recipes, logs or manifests); its name must end in _API_KEY "
        "or _TOKEN, or be listed in $CURATE_ALLOW_KEY_ENV",
    )
    concurrency: int = Field(4, ge=1, le=256, description="http backend: requests in flight at once")
    retries: int = Field(
        4,
        ge=0,
        le=20,
        description="http backend: retries of a failed request (connection errors, "
        "timeouts, 429, 5xx), with exponential backoff",
    )
    backoff: float = Field(
        1.0, ge=0, description="http backend: first wait in seconds (doubles each retry, at most 30)"
    )
    timeout: float = Field(120.0, gt=0, description="http backend: seconds to wait for one answer")
    cache: bool = Field(
        True,
        description="http backend: keep every answer on disk (keyed by model, prompt and "
        "parameters): a rerun sends nothing it sent before",
    )
    prompts: dict[str, str] = Field(
        default_factory=dict,
        description="prompt template per language code, plus `default`; placeholders "
        "`{text}` and `{language}` (its English name). Built-in default: a plain 'paraphrase, same language' prompt",
    )
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
        return GenParams(
            temperature=self.temperature, top_p=self.top_p, top_k=self.top_k, max_new_tokens=self.max_new_tokens
        )

    def origin_params(self) -> dict:
        return {
            "backend": self.backend,
            "engine": self.engine if self.backend == "local" else None,
            "prompts": self.prompts,
            "system": self.system,
            "chat_template": self.chat_template,
            **self.params().as_dict(),
            "field": self.field,
        }


@register("paraphrase")
class Paraphrase(SynthStep):
    """Paraphrase a column with an LLM (local, or an OpenAI-compatible endpoint) and add the valid rewrites as rows."""

    Config = ParaphraseConfig
    config: ParaphraseConfig

    def requires(self) -> list[str]:
        c = self.config
        return [c.field, *c.only] + ([] if c.lang else [f"{c.field}_lang"])

    def load_models(self) -> None:
        from curate.augment.llm import make_backend

        self.backend = make_backend(self.config, base=self.context.recipe_dir)

    def generate(self, batch: pl.DataFrame, rows: list[int]) -> tuple[Generated, Counter]:
        return paraphrase(batch, rows, self.config, self.backend, self.context.seed)
