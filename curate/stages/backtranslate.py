"""`backtranslate`: translate one column into another language to make new pairs (Sennrich-style back-translation).

The model is a Transformers seq2seq model (Marian/opus-mt, NLLB, M2M100, mBART) named by hub id (from the local
cache) or path, converted once to CTranslate2 and cached. Every synthetic row is validated (language, length
ratio, copy/drift by chrF, round trip with `reverse_model`, duplicates) before it joins the data; failures are
rejects with reasons `synthetic:*`. See `curate.augment`.
"""

from __future__ import annotations

from collections import Counter

import polars as pl
from pydantic import Field

from curate.augment.backtranslate import backtranslate
from curate.augment.synth import Generated
from curate.stages._synthetic import SynthStep, TranslationConfig
from curate.stages.registry import register


class BacktranslateConfig(TranslationConfig):
    model: str = Field(
        ...,
        description="seq2seq model: a Hugging Face id already in the local cache, or a folder "
        "(relative to the recipe); e.g. Helsinki-NLP/opus-mt-fr-en, facebook/nllb-200-distilled-600M",
    )
    field: str = Field("target", description="column to translate")
    into: str = Field(
        "text",
        description="column the translation replaces in the synthetic row (the same as "
        "`field` to translate a column in place)",
    )
    source_lang: str | None = Field(
        None,
        description="language of `field` (ISO 639: `fra`, `yi`; or the model's "
        "own code); default: the row's `{field}_lang`. Multilingual models need it",
    )
    target_lang: str = Field(
        ...,
        description="language of the translation (ISO 639 or the model's code): picks the "
        "target token of multilingual models and is what the language check expects",
    )
    reverse_model: str | None = Field(
        None,
        description="a model translating back (target_lang -> source language): "
        "adds the round-trip chrF check `synthetic:roundtrip`",
    )
    compare_with_existing: bool = Field(
        True, description="check copy/drift (chrF) against the value the translation replaces, when there is one"
    )


@register("backtranslate")
class Backtranslate(SynthStep):
    """Back-translate a column with a seq2seq model on CTranslate2 and add the valid translations as new rows."""

    Config = BacktranslateConfig
    config: BacktranslateConfig

    def requires(self) -> list[str]:
        return [self.config.field, *self.config.only]

    def into(self) -> str:
        return self.config.into

    def load_models(self) -> None:
        from curate.augment.translate import load_seq2seq

        c = self.config
        options = c.seq2seq_options(self.context.recipe_dir)
        self.model = load_seq2seq(c.model, **options)
        self.reverse = load_seq2seq(c.reverse_model, **{**options, "workers": c.workers}) if c.reverse_model else None

    def generate(self, batch: pl.DataFrame, rows: list[int]) -> tuple[Generated, Counter]:
        return backtranslate(batch, rows, self.config, self.model, self.reverse, self.context.seed)
