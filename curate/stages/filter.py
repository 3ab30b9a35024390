"""`filter`: keep rows by a simple condition on one column (no code: a fixed set of comparisons)."""

from __future__ import annotations

from typing import Any

import polars as pl
from pydantic import ConfigDict, Field, field_validator, model_validator

from curate.stages.base import FilterStep, StepConfig
from curate.stages.registry import register

_COMPARISONS = {"eq": "__eq__", "ne": "__ne__", "gt": "__gt__", "ge": "__ge__", "lt": "__lt__", "le": "__le__"}


class FilterConfig(StepConfig):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    column: str = Field(..., description="column to test")
    in_: list[Any] | None = Field(None, alias="in", description="keep rows whose value is one of these")
    not_in: list[Any] | None = Field(None, description="drop rows whose value is one of these")
    eq: Any = Field(None, description="keep rows equal to this")
    ne: Any = Field(None, description="keep rows not equal to this")
    gt: float | None = Field(None, description="keep rows greater than this")
    ge: float | None = Field(None, description="keep rows greater than or equal to this")
    lt: float | None = Field(None, description="keep rows less than this")
    le: float | None = Field(None, description="keep rows less than or equal to this")
    matches: str | None = Field(None, description="keep rows matching this regular expression (Rust regex syntax)")
    not_matches: str | None = Field(None, description="drop rows matching this regular expression")
    is_null: bool | None = Field(None, description="true: keep only missing values; false: only present ones")
    reason: str | None = Field(None, description="reject reason (default `filter:<column>`)")

    @field_validator("matches", "not_matches")
    @classmethod
    def _valid_regex(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                pl.Series([""]).str.contains(pattern)
            except Exception as exc:  # polars reports the regex error; the user gets it at validation time
                raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
        return pattern

    @model_validator(mode="after")
    def _has_condition(self) -> FilterConfig:
        if not self.conditions():
            raise ValueError("give a condition: in, not_in, eq, ne, gt, ge, lt, le, matches, not_matches or is_null")
        return self

    def conditions(self) -> list[pl.Expr]:
        col = pl.col(self.column)
        out = []
        if self.in_ is not None:
            out.append(col.is_in(self.in_))
        if self.not_in is not None:
            out.append(~col.is_in(self.not_in))
        for key, method in _COMPARISONS.items():
            value = getattr(self, key)
            if value is not None:
                out.append(getattr(col, method)(value))
        if self.matches is not None:
            out.append(col.str.contains(self.matches))
        if self.not_matches is not None:
            out.append(~col.str.contains(self.not_matches))
        if self.is_null is not None:
            out.append(col.is_null() if self.is_null else col.is_not_null())
        return out


@register("filter")
class Filter(FilterStep):
    """Keep rows whose column meets every condition given; the others are rejected as `filter:<column>`."""

    Config = FilterConfig
    config: FilterConfig

    def requires(self) -> list[str]:
        return [self.config.column]

    def reason(self) -> pl.Expr:
        keep = pl.all_horizontal(self.config.conditions()).fill_null(False)
        return pl.when(keep).then(None).otherwise(pl.lit(self.config.reason or f"filter:{self.config.column}"))
