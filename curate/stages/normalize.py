"""`normalize`: repair encodings and tidy Unicode and whitespace, changing only what must change."""

from __future__ import annotations

from typing import Literal

import ftfy
import polars as pl
from pydantic import Field

from curate.core.rows import REASON, first_reason, partition
from curate.stages.base import BatchStep, StepConfig, StepResult
from curate.stages.registry import register

# Only text with something outside printable ASCII, an HTML entity or an escape sequence can need ftfy; the rest is
# skipped without a Python call.
_MAY_NEED_FTFY = r"[^\x20-\x7e\n]|&"
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u0080-\u009f]"
_BLOCK_TAG = r"(?i)<(?:br|/?p|/?div|/?li|/?tr|/?h[1-6]|/?ul|/?ol|/?table|/?blockquote)\b[^>]*>"
_ANY_TAG = r"(?s)<!--.*?-->|</?[a-zA-Z][a-zA-Z0-9-]*(?:\s[^<>]*)?/?>"
_SCRIPT_STYLE = r"(?is)<(script|style)\b[^>]*>.*?</(?:script|style)\s*>"


class NormalizeConfig(StepConfig):
    fields: list[str] = Field(default_factory=lambda: ["text"], min_length=1, description="text columns to normalise")
    fix_encoding: bool = Field(True, description="repair mojibake and HTML entities with ftfy")
    unicode: Literal["NFC", "NFKC", "NFD", "NFKD", "none"] = Field("NFC", description="Unicode normal form")
    remove_control: bool = Field(True, description="remove C0/C1 control characters (keeps tab and newline)")
    collapse_whitespace: bool = Field(
        True, description="runs of spaces/tabs become one space, 3+ newlines become 2, ends are trimmed"
    )
    strip_html: bool = Field(False, description="remove HTML tags (block tags become line breaks)")


def _ftfy_config(unescape_html: bool | str) -> ftfy.TextFixerConfig:
    # Only repairs; nothing that rewrites valid text (curly quotes, full-width forms and ligatures are kept).
    return ftfy.TextFixerConfig(
        unescape_html=unescape_html,
        fix_latin_ligatures=False,
        fix_character_width=False,
        uncurl_quotes=False,
        normalization=None,
        explain=False,
    )


def fix_text_series(values: pl.Series, strip_html: bool) -> pl.Series:
    """ftfy on the values that may need it; the others are returned untouched."""
    config = _ftfy_config(True if strip_html else "auto")
    mask = values.str.contains(_MAY_NEED_FTFY).fill_null(False)
    if not mask.any():
        return values
    fixed = [ftfy.fix_text(v, config) for v in values.filter(mask).to_list()]
    return values.scatter(mask.arg_true(), pl.Series(fixed, dtype=pl.String))


@register("normalize")
class Normalize(BatchStep):
    """Repair mojibake (ftfy), normalise Unicode, drop control characters, collapse whitespace, strip HTML."""

    Config = NormalizeConfig
    config: NormalizeConfig

    def requires(self) -> list[str]:
        return list(self.config.fields)

    def _normalize(self, col: pl.Expr) -> pl.Expr:
        c = self.config
        if c.strip_html:
            col = col.str.replace_all(_SCRIPT_STYLE, "").str.replace_all(_BLOCK_TAG, "\n").str.replace_all(_ANY_TAG, "")
        if c.unicode != "none":
            col = col.str.normalize(c.unicode)
        if c.remove_control:
            col = col.str.replace_all(_CONTROL, "")
        if c.collapse_whitespace:
            col = (
                col.str.replace_all(r"\r\n?", "\n")
                .str.replace_all(r"[^\S\n]+\n", "\n")
                .str.replace_all(r"\n{3,}", "\n\n")
                .str.replace_all(r"[^\S\n]{2,}|\t", " ")
                .str.strip_chars()
            )
        return col

    def process(self, batch: pl.DataFrame) -> StepResult:
        fields = [f for f in self.config.fields if f in batch.columns]
        before = {f"__before_{f}": pl.col(f) for f in fields}
        out = batch.with_columns(**before)
        if self.config.fix_encoding:
            out = out.with_columns([fix_text_series(out[f], self.config.strip_html) for f in fields])
        out = out.with_columns([self._normalize(pl.col(f)).alias(f) for f in fields])
        changed = out.select([(pl.col(f) != pl.col(f"__before_{f}")).sum().alias(f) for f in fields]).row(0, named=True)
        # A text that had content and has none left is not a text any more.
        emptied = [(pl.col(f).str.len_chars() == 0, f"normalize:empty:{f}") for f in fields]
        result = StepResult(*partition(out.with_columns(first_reason(*emptied).alias(REASON)).drop(list(before))))
        result.stats.update({f"changed:{f}": n for f, n in changed.items() if n})
        return result
