"""What the augmentation steps (`backtranslate`, `roundtrip`, `paraphrase`) share: the settings every such step
has, the decoding settings of the two translation steps, and the step that turns the candidates the augmentation
library generates (`curate.augment`) into a result: validated synthetic rows kept, the others rejected.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import Field, field_validator, model_validator

from curate.augment.synth import Generated, assemble, selection
from curate.augment.translate import Decoding
from curate.augment.validate import Detector, ValidationConfig, detector_for
from curate.stages.base import BatchStep, StepConfig, StepResult


class SynthConfig(StepConfig):
    """Settings every augmentation step has: selection, variants, where models run, validation."""

    n: int = Field(1, ge=1, le=64, description="synthetic variants per selected row")
    only: dict[str, list[str]] = Field(
        default_factory=dict,
        description="augment only rows whose column has one of these values, e.g. "
        "`{target_lang: [yid, gla]}` for the languages that need more data (all rows when empty)",
    )
    sample: float = Field(
        1.0,
        gt=0,
        le=1,
        description="share of the selected rows to augment, chosen by a seeded "
        "hash of `_id` (the same rows on every run)",
    )
    include_synthetic: bool = Field(
        False, description="also augment rows an earlier step made (chains of synthetic rows)"
    )
    batch_size: int = Field(32, ge=1, description="texts per model call (sorted by length first)")
    device: str = Field("auto", description="`auto` (GPU if CTranslate2 or torch sees one), `cpu` or `cuda`")
    compute_type: Literal[
        "auto", "float32", "int8", "int8_float32", "int8_float16", "int8_bfloat16", "float16", "bfloat16"
    ] = Field("auto", description="CTranslate2 quantization: `auto` is int8 on CPU and float16 on GPU")
    threads: int = Field(0, ge=0, description="CPU threads for CTranslate2 in all (0: every core)")
    workers: int = Field(
        0,
        ge=0,
        le=64,
        description="CTranslate2 batches decoded at once, sharing `threads` (0: up "
        "to 4; sampling always uses 1, so that samples are the same on every run)",
    )
    cache_dir: str | None = Field(
        None,
        description="where converted models and LLM answers are cached across runs "
        "(default `$CURATE_CACHE_DIR` or ~/.cache/curate)",
    )
    validation: ValidationConfig = Field(
        default_factory=ValidationConfig,
        description="checks every synthetic row passes: `language`, `min_lang_score`, "
        "`langid_model`, `min_length_ratio`, `max_length_ratio`, `min_chrf`, "
        "`max_chrf`, `min_roundtrip_chrf`, `duplicates` (see the README)",
    )

    @field_validator("only", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value


class TranslationConfig(SynthConfig):
    """Decoding settings of the translation steps."""

    engine: Literal["ctranslate2", "transformers"] = Field(
        "ctranslate2",
        description="ctranslate2: the model converted once and cached (fast); transformers: `generate` (the reference)",
    )
    beam_size: int = Field(4, ge=1, le=64, description="beam width; with `n` > 1 the n best hypotheses are kept")
    sampling_topk: int = Field(
        1,
        ge=0,
        description="sample from the k most likely tokens (1: no sampling, beam "
        "search; 0: the whole vocabulary) for diverse back-translations",
    )
    sampling_temperature: float = Field(1.0, gt=0, description="temperature of the sampling")
    max_length: int = Field(256, ge=1, description="at most this many tokens per translation")

    @model_validator(mode="after")
    def _sampling(self) -> TranslationConfig:
        if self.sampling_topk == 1 and self.sampling_temperature != 1.0:
            raise ValueError(
                "sampling_temperature needs sampling: set sampling_topk (0 for the whole vocabulary, or k > 1)"
            )
        return self

    def decoding(self, n: int | None = None) -> Decoding:
        return Decoding(
            beam_size=self.beam_size,
            n=n or self.n,
            sampling_topk=self.sampling_topk,
            sampling_temperature=self.sampling_temperature,
            max_length=self.max_length,
            batch_size=self.batch_size,
        )

    def seq2seq_options(self, base: Path | None) -> dict:
        """What `load_seq2seq` takes from this config for the model that generates: a sampling model decodes one
        batch at a time, so that samples come out the same on every run (a plain-decoding model: `workers`)."""
        return {
            "base": base,
            "engine": self.engine,
            "device": self.device,
            "compute_type": self.compute_type,
            "threads": self.threads,
            "cache_dir": self.cache_dir,
            "workers": 1 if self.decoding().sampling else self.workers,
        }

    def plain_decoding(self) -> Decoding:
        """Beam search, one best: for the way back of round trips and for round-trip validation."""
        return Decoding(beam_size=self.beam_size, n=1, max_length=self.max_length, batch_size=self.batch_size)

    def decoding_params(self) -> dict:
        return {
            "beam_size": self.beam_size,
            "sampling_topk": self.sampling_topk,
            "engine": self.engine,
            "sampling_temperature": self.sampling_temperature,
            "max_length": self.max_length,
            "compute_type": self.compute_type,
        }


class SynthStep(BatchStep):
    """An augmentation step: `generate` makes candidates for the selected rows of a batch; `process` validates them
    and returns the batch with the valid ones added as synthetic rows (the others rejected)."""

    config: SynthConfig
    detector: Detector | None

    def produces(self) -> list[str]:
        return ["_synthetic", "_parent_id", "_origin"]

    def into(self) -> str:
        """The column the generated text goes in."""
        return self.config.field  # type: ignore[attr-defined]

    def setup(self) -> None:
        self.load_models()
        self.detector = detector_for(self.config.validation, self.context.recipe_dir)

    def load_models(self) -> None:
        raise NotImplementedError

    def generate(self, batch: pl.DataFrame, rows: list[int]) -> tuple[Generated, Counter]:
        """Candidates for `rows` (indices into `batch`), and the step's counters."""
        raise NotImplementedError

    def process(self, batch: pl.DataFrame) -> StepResult:
        if not hasattr(self, "detector"):
            self.setup()
        c = self.config
        field = c.field  # type: ignore[attr-defined]
        rows = selection(batch, c, field, self.context.seed, self.name).arg_true().to_list()
        generated, stats = self.generate(batch, rows)
        kept, rejected = assemble(
            batch, generated, self.into(), c.validation, self.detector, stats, str(self.context.index)
        )
        return StepResult(kept, rejected, stats)
