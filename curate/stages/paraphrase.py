"""`paraphrase`: an LLM rewrites a column with a prompt template per language; valid rewrites become new rows.

Backends: a local chat model (Transformers or CTranslate2 `Generator`, with the model's chat template) or an
OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp server, TGI, `transformers serve`) with concurrency, retries
with backoff and an on-disk response cache keyed by model, prompt and parameters, so a rerun costs nothing.
Every rewrite is validated (language, length ratio, not a copy, not drifted, not a duplicate); failures are
rejects with reasons `synthetic:*`. See `curate.augment`.
"""

from __future__ import annotations

from curate.augment.paraphrase import ParaphraseConfig, paraphrase
from curate.registry import register
from curate.stages.base import BatchStep, StepResult


@register("paraphrase")
class Paraphrase(BatchStep):
    """Paraphrase a column with an LLM (local, or an OpenAI-compatible endpoint) and add the valid rewrites as rows."""

    Config = ParaphraseConfig
    config: ParaphraseConfig

    def requires(self) -> list[str]:
        c = self.config
        return [c.field, *c.only] + ([] if c.lang else [f"{c.field}_lang"])

    def produces(self) -> list[str]:
        return ["_synthetic", "_parent_id", "_origin"]

    def setup(self) -> None:
        from curate.augment.ct2 import cache_root
        from curate.augment.llm import LocalLLM, OpenAIChatClient
        from curate.augment.validate import detector_for

        c = self.config
        if c.backend == "http":
            cache = cache_root(c.cache_dir) / "llm" / "responses.sqlite" if c.cache else None
            self.backend = OpenAIChatClient(c.base_url, c.model, api_key_env=c.api_key_env, concurrency=c.concurrency,
                                            retries=c.retries, backoff=c.backoff, timeout=c.timeout,
                                            cache_path=cache)  # fmt: skip
        else:
            self.backend = LocalLLM(c.model, base=self.context.recipe_dir, engine=c.engine, device=c.device,
                                    compute_type=c.compute_type, threads=c.threads, cache_dir=c.cache_dir,
                                    batch_size=c.batch_size, chat_template=c.chat_template)  # fmt: skip
        self.detector = detector_for(c.validation, self.context.recipe_dir)

    def process(self, batch) -> StepResult:
        if not hasattr(self, "backend"):
            self.setup()
        return paraphrase(batch, self.config, self.backend, self.detector, self.context.seed,
                         str(self.context.index))
