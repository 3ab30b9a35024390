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
        from curate.augment.llm import make_backend
        from curate.augment.validate import detector_for

        self.backend = make_backend(self.config, base=self.context.recipe_dir)
        self.detector = detector_for(self.config.validation, self.context.recipe_dir)

    def process(self, batch) -> StepResult:
        if not hasattr(self, "backend"):
            self.setup()
        return paraphrase(batch, self.config, self.backend, self.detector, self.context.seed,
                         str(self.context.index))
