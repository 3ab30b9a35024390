"""`roundtrip`: paraphrase a column through one or more pivot languages (source -> pivot -> source).

Each direction is a seq2seq model on CTranslate2 (converted once and cached): one multilingual `model` (NLLB,
M2M100) for every direction, or a model per direction in `models` (`{yid-eng: ..., eng-yid: ...}`). The way out
gives `n` variants (n-best beams, or samples with `sampling_topk`), the way back the best translation of each.
Every result is validated as a paraphrase of its input (language, length, not a copy, not drifted, not a
duplicate); failures are rejects with reasons `synthetic:*`.
"""

from __future__ import annotations

from collections import Counter

import polars as pl
from pydantic import Field, field_validator, model_validator

from curate.augment.backtranslate import roundtrip, same_code
from curate.augment.synth import Generated
from curate.core.errors import CurateError
from curate.stages._synthetic import SynthStep, TranslationConfig
from curate.stages.registry import register


class RoundtripConfig(TranslationConfig):
    field: str = Field("text", description="column to paraphrase (the synthetic row has the round trip in it)")
    lang: str | None = Field(
        None,
        description="language of `field` (ISO 639); default: the row's `{field}_lang` "
        "(rows without one are left alone)",
    )
    pivots: list[str] = Field(
        ..., min_length=1, description="pivot languages, e.g. [eng, fra]: each gives its own variants"
    )
    model: str | None = Field(
        None, description="one multilingual model for every direction (hub id in the local cache, or a folder)"
    )
    models: dict[str, str] = Field(
        default_factory=dict,
        description="a model per direction, keyed `from-to` in ISO 639 (`yid-eng`, "
        "`eng-yid`); takes precedence over `model`",
    )

    @field_validator("pivots", mode="before")
    @classmethod
    def _one_or_many(cls, value):
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _some_model(self) -> RoundtripConfig:
        if self.model is None and not self.models:
            raise ValueError("give `model` (multilingual) or `models` (one per direction)")
        for key in self.models:
            if key.count("-") != 1:
                raise ValueError(f"models: key {key!r} is not `from-to` (e.g. `yid-eng`)")
        return self


@register("roundtrip")
class Roundtrip(SynthStep):
    """Paraphrase a column by translating it into pivot languages and back; valid results become new rows."""

    Config = RoundtripConfig
    config: RoundtripConfig

    def requires(self) -> list[str]:
        c = self.config
        return [c.field, *c.only] + ([] if c.lang else [f"{c.field}_lang"])

    def direction(self, source: str, target: str) -> str:
        """The model name for one direction: from `models` (ISO codes compared loosely), else `model`."""
        for key, name in self.config.models.items():
            a, b = key.split("-")
            if same_code(a, source) and same_code(b, target):
                return name
        if self.config.model is None:
            raise CurateError(
                f"roundtrip: no model for {source} -> {target}; add `{source}-{target}: MODEL` to "
                "`models`, or give a multilingual `model`"
            )
        return self.config.model

    def load_models(self) -> None:
        from curate.augment.translate import load_seq2seq

        c = self.config
        self._options = c.seq2seq_options(self.context.recipe_dir)
        self._load = load_seq2seq
        if c.lang:  # everything is known now: load (and convert) before the first batch
            for pivot in c.pivots:
                self.models(c.lang, pivot)

    def models(self, lang: str, pivot: str):
        """(forward, back, name) for rows in `lang`, loaded on first use (rows in languages that `only` leaves out
        need no model)."""
        there, back = self.direction(lang, pivot), self.direction(pivot, lang)
        name = there if there == back else f"{there}+{back}"
        return self._load(there, **self._options), self._load(back, **self._options), name

    def generate(self, batch: pl.DataFrame, rows: list[int]) -> tuple[Generated, Counter]:
        return roundtrip(batch, rows, self.config, self.models, self.context.seed)
