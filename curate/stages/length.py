"""`length`: drop texts that are too short or too long, in characters or in words of any script."""

from __future__ import annotations

import polars as pl
from pydantic import Field, model_validator

from curate.core.rows import first_reason
from curate.core.text import char_count, word_count
from curate.stages.base import FilterStep, StepConfig
from curate.stages.registry import register


class LengthConfig(StepConfig):
    field: str = Field("text", description="text column to measure")
    min_chars: int | None = Field(None, ge=0, description="fewer characters: `length:too_short`")
    max_chars: int | None = Field(None, ge=1, description="more characters: `length:too_long`")
    min_words: int | None = Field(None, ge=0, description="fewer words: `length:too_few_words`")
    max_words: int | None = Field(None, ge=1, description="more words: `length:too_many_words`")

    @model_validator(mode="after")
    def _ranges(self) -> LengthConfig:
        for low, high in (("min_chars", "max_chars"), ("min_words", "max_words")):
            lo, hi = getattr(self, low), getattr(self, high)
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(f"{low} ({lo}) is larger than {high} ({hi})")
        return self


@register("length")
class Length(FilterStep):
    """Keep texts within character and word bounds; words are counted for scripts without spaces too."""

    Config = LengthConfig
    config: LengthConfig

    def requires(self) -> list[str]:
        return [self.config.field]

    def reason(self) -> pl.Expr:
        c = self.config
        chars, words = char_count(c.field).fill_null(0), word_count(c.field).fill_null(0)
        rules = []
        if c.min_chars is not None:
            rules.append((chars < c.min_chars, "length:too_short"))
        if c.max_chars is not None:
            rules.append((chars > c.max_chars, "length:too_long"))
        if c.min_words is not None:
            rules.append((words < c.min_words, "length:too_few_words"))
        if c.max_words is not None:
            rules.append((words > c.max_words, "length:too_many_words"))
        return first_reason(*rules)
