"""`balance`: per-group quotas (temperature sampling, caps, floors) so low-resource languages are not drowned.

Which rows a group keeps is decided by a seeded hash of their `_id`, so the choice is deterministic and does not
depend on batch boundaries: `fit` sees only the group, the hash and (for class weights) the label of every row,
and `apply` keeps the rows under their group's hash threshold. Rows not selected are rejected as
`balance:over_quota`; rows added to reach a quota are copies marked `_repeat` (1, 2, ...) with `_repeat_of`.

Real rows are dropped only when the recipe asks for it (`total`, `cap`): by default small groups are filled up
with copies and every row read is kept. Copies are not new evidence (a model may memorise them, and a copy in
another split than its original leaks), so the step counts them per group for the manifest and the card.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import Field, field_validator, model_validator

from curate.core.hashing import seeded_hashes
from curate.core.rows import REASON
from curate.io.writers import write_json_atomic
from curate.stages.base import CardSection, GlobalStep, StepConfig, StepResult
from curate.stages.registry import register

OVER_QUOTA = "balance:over_quota"
_NULL_GROUP = "<none>"
WEIGHTS = "weights.json"  # left in OUT/ with `weights_by`: the trainer reads it


class BalanceConfig(StepConfig):
    by: list[str] = Field(
        default_factory=lambda: ["text_lang"],
        min_length=1,
        description="columns whose values form the groups, e.g. "
        "`text_lang`; for sentence pairs `tgt_lang` (the target language) or `[src_lang, tgt_lang]` (the pair, "
        "`eng/yid`). Rows with no value in any of them (monolingual rows beside pairs) are kept as they are, outside "
        "the quotas",
    )
    strategy: Literal["temperature", "cap", "floor"] = Field(
        "temperature",
        description="temperature: shares ∝ n^alpha (without `total`, the largest group keeps its n "
        "rows and a group of n_g gets n_max·(n_g/n_max)^alpha); cap: at most `cap` per group; floor: at least `floor` "
        "per group",
    )
    alpha: float = Field(0.3, gt=0, le=1, description="temperature exponent (1 keeps the natural shares, 0 is uniform)")
    total: int | None = Field(
        None,
        gt=0,
        description="rows after balancing (temperature): real rows of large groups are dropped to make "
        "room (`balance:over_quota`). Default: none is dropped, small groups are filled up with copies",
    )
    cap: int | None = Field(
        None, gt=0, description="at most this many rows per group (any strategy): rows over it are dropped"
    )
    floor: int | None = Field(None, gt=0, description="at least this many rows per group, by repetition (any strategy)")
    repeat: bool = Field(
        True, description="repeat rows of groups below their quota (marked `_repeat`); false: no copies"
    )
    max_copies: int | None = Field(
        None,
        ge=0,
        description="at most this many copies of any row: a group's quota is lowered to what its rows "
        "allow (copies cost: a model memorises them)",
    )
    prefer: Literal["original", "synthetic", "none"] = Field(
        "original", description="when a group must shrink, keep original rows first, synthetic first, or neither"
    )
    weights_by: str | None = Field(None, description="label column: write class weights per group and label")

    @field_validator("by", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _strategy_needs(self) -> BalanceConfig:
        if self.strategy == "cap" and self.cap is None:
            raise ValueError("strategy `cap` needs `cap`")
        if self.strategy == "floor" and self.floor is None:
            raise ValueError("strategy `floor` needs `floor`")
        if self.cap is not None and self.floor is not None and self.floor > self.cap:
            raise ValueError(f"floor ({self.floor}) is larger than cap ({self.cap})")
        return self


def temperature_quotas(sizes: dict[str, int], alpha: float, total: int) -> dict[str, int]:
    """Rows per group with shares proportional to n^alpha (XLM-R, mT5), rounded by largest remainder so they add up
    to `total` exactly."""
    names = sorted(sizes)
    weights = np.array([sizes[n] ** alpha for n in names], dtype=np.float64)
    exact = total * weights / weights.sum()
    quotas = np.floor(exact).astype(np.int64)
    order = np.lexsort((np.arange(len(names)), -(exact - quotas)))  # largest remainder first, ties by name
    quotas[order[: total - int(quotas.sum())]] += 1
    return {n: int(q) for n, q in zip(names, quotas)}


def upsampling_quotas(sizes: dict[str, int], alpha: float) -> dict[str, int]:
    """Shares proportional to n^alpha without dropping a row: the largest group keeps its n rows, the others get
    n_max·(n/n_max)^alpha (rounded half up), never fewer than they have."""
    largest = max(sizes.values())
    return {g: max(n, int(np.floor(largest * (n / largest) ** alpha + 0.5))) for g, n in sizes.items()}


def quotas_for(sizes: dict[str, int], config: BalanceConfig) -> dict[str, int]:
    if config.strategy != "temperature":
        quotas = dict(sizes)
    elif config.total is not None:
        quotas = temperature_quotas(sizes, config.alpha, config.total)
    else:
        quotas = upsampling_quotas(sizes, config.alpha)
    if config.cap is not None:
        quotas = {g: min(q, config.cap) for g, q in quotas.items()}
    if config.floor is not None:
        quotas = {g: max(q, config.floor) for g, q in quotas.items()}
    if not config.repeat:
        quotas = {g: min(q, sizes[g]) for g, q in quotas.items()}
    if config.max_copies is not None:
        quotas = {g: min(q, sizes[g] * (1 + config.max_copies)) for g, q in quotas.items()}
    return quotas


@dataclass
class BalancePlan:
    """Per group: how many rows it keeps, and the rank cut-off in its seeded order."""

    keep_below: dict[str, int] = field(default_factory=dict)  # rows with rank < this are kept
    copies: dict[str, tuple[int, int]] = field(default_factory=dict)  # (every row's extra copies, +1 for rank < n)
    ranks: pl.DataFrame | None = None  # _id -> rank within its group
    quotas: dict[str, int] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    ungrouped: int = 0  # rows with no value in `by`: kept as they are


@register("balance")
class Balance(GlobalStep):
    """Balance groups (languages, domains, labels): temperature sampling, caps and floors, with class weights."""

    Config = BalanceConfig
    config: BalanceConfig
    state_type = BalancePlan

    def requires(self) -> list[str]:
        return list(self.config.by) + ([self.config.weights_by] if self.config.weights_by else [])

    def produces(self) -> list[str]:
        return ["_repeat", "_repeat_of"]

    def fit_columns(self) -> list[str]:
        return ["_id", *self.config.by] + ([self.config.weights_by] if self.config.weights_by else [])

    def _group(self) -> pl.Expr:
        """The group of a row: its `by` values joined by `/`; null (kept as it is) when it has none of them."""
        by = self.config.by
        parts = [pl.col(c).cast(pl.String).fill_null(_NULL_GROUP) for c in by]
        joined = parts[0] if len(parts) == 1 else pl.concat_str(parts, separator="/")
        return (
            pl.when(pl.all_horizontal([pl.col(c).is_null() for c in by])).then(None).otherwise(joined).alias("_group")
        )

    def _priority(self, frame: pl.DataFrame) -> pl.Expr:
        if self.config.prefer == "none" or "_synthetic" not in frame.columns:
            return pl.lit(0)
        synthetic = pl.col("_synthetic").fill_null(False).cast(pl.Int8)
        return synthetic if self.config.prefer == "original" else 1 - synthetic

    def fit(self, frames: Iterator[pl.DataFrame]) -> BalancePlan:
        seed = self.context.seed
        pieces = []
        for frame in frames:
            pieces.append(
                frame.select(
                    pl.col("_id"),
                    self._group(),
                    self._priority(frame).alias("_priority"),
                    pl.Series("_hash", seeded_hashes(frame["_id"].to_list(), seed, frame.height)),
                    *(
                        [pl.col(self.config.weights_by).cast(pl.String).alias("_label")]
                        if self.config.weights_by
                        else []
                    ),
                )
            )
        rows = pl.concat(pieces) if pieces else pl.DataFrame(schema={"_id": pl.String, "_group": pl.String})
        ungrouped = int(rows["_group"].null_count())
        rows = rows.filter(pl.col("_group").is_not_null())
        sizes = dict(rows.group_by("_group").len().iter_rows()) if rows.height else {}
        quotas = quotas_for(sizes, self.config) if sizes else {}
        ranked = rows.sort(["_group", "_priority", "_hash", "_id"]).with_columns(
            pl.int_range(pl.len()).over("_group").alias("_rank")
        )
        plan = BalancePlan(quotas=quotas, sizes=sizes, ranks=ranked.select("_id", "_rank"), ungrouped=ungrouped)
        for group, n in sizes.items():
            q = quotas[group]
            plan.keep_below[group] = min(q, n)
            plan.copies[group] = divmod(q - n, n) if q > n else (0, 0)
        if self.config.weights_by:
            self._write_weights(ranked, plan)
        return plan

    def _write_weights(self, ranked: pl.DataFrame, plan: BalancePlan) -> None:
        """sklearn's `balanced` weights (n / (k * n_label)) per group, over the rows the plan keeps."""
        kept = ranked.with_columns(
            pl.col("_group").replace_strict(plan.keep_below, return_dtype=pl.Int64).alias("_limit")
        ).filter(pl.col("_rank") < pl.col("_limit"))
        weights: dict[str, dict[str, float]] = {}
        for (group,), rows in kept.group_by(["_group"], maintain_order=True):
            counts = dict(rows["_label"].fill_null(_NULL_GROUP).value_counts().iter_rows())
            total, k = sum(counts.values()), len(counts)
            weights[group] = {label: round(total / (k * n), 6) for label, n in sorted(counts.items())}
        self.weights = {"by": self.config.by, "label": self.config.weights_by, "weights": dict(sorted(weights.items()))}
        write_json_atomic(self.context.artifact(WEIGHTS), self.weights)

    def fit_stats(self, plan: BalancePlan) -> dict[str, int]:
        """Per group: rows it had (`rows:`), copies made (`copies:`) and real rows dropped (`dropped:`)."""
        stats = {"ungrouped": plan.ungrouped} if plan.ungrouped else {}
        for group in sorted(plan.sizes):
            n, q = plan.sizes[group], plan.quotas[group]
            stats.update({f"rows:{group}": n, f"copies:{group}": max(q - n, 0), f"dropped:{group}": max(n - q, 0)})
        return stats

    @staticmethod
    def groups(stats: dict[str, int]) -> list[tuple[str, int, int, int]]:
        """(group, rows it had, copies made, real rows dropped) from the stats of `fit_stats`, largest first."""
        found = [(k.split(":", 1)[1], n) for k, n in stats.items() if k.startswith("rows:")]
        return [
            (g, n, stats.get(f"copies:{g}", 0), stats.get(f"dropped:{g}", 0))
            for g, n in sorted(found, key=lambda gn: (-gn[1], gn[0]))
        ]

    @classmethod
    def notes(cls, params: dict, stats: dict[str, int]) -> list[str]:
        """Copies made and real rows dropped per group: repeats are a choice with a cost, and so is a cap."""
        groups, by = cls.groups(stats), "/".join(params.get("by", []))
        copied = [f"{g} {n:,} + {c:,} ({(n + c) / n:.1f}x)" for g, n, c, _ in groups if c]
        dropped = [f"{g} {d:,} of {n:,}" for g, n, _, d in groups if d]
        note = f"copies per {by}: {', '.join(copied) or 'none'}; real rows dropped (over quota): {', '.join(dropped) or 'none'}"
        ungrouped = stats.get("ungrouped", 0)
        return [note + (f"; {ungrouped:,} rows without {by} kept as they are" if ungrouped else "")] if groups else []

    @classmethod
    def card_section(cls, params: dict, stats: dict[str, int]) -> str | None:
        """Per group: rows, copies added, real rows dropped, rows after."""
        groups = cls.groups(stats)
        if not groups:
            return None
        by = ", ".join(f"`{c}`" for c in params.get("by", []))
        ungrouped = stats.get("ungrouped", 0)
        rows = ["| group | rows | copies added | real rows dropped | rows after |", "|---|---|---|---|---|"]
        rows += [f"| `{g}` | {n:,} | {c:,} | {d:,} | {n + c - d:,} |" for g, n, c, d in groups]
        return (
            f"Groups of {by}. Copies (`_repeat` > 0) repeat a real row: they are no new evidence, and they stay "
            f"in their original's split."
            + (f" {ungrouped:,} rows without a value in {by} were kept as they are." if ungrouped else "")
            + "\n\n"
            + "\n".join(rows)
        )

    @classmethod
    def card_sections(cls, steps: list[dict[str, Any]]) -> list[CardSection]:
        sections = super().card_sections(steps)
        written = [s for s in steps if WEIGHTS in s.get("artifacts", {})]
        if written:
            text = f"Written to `{WEIGHTS}` for the trainer."
            sections.append(CardSection("Class weights", text, written[0]["index"], "files"))
        return sections

    @classmethod
    def artifacts(cls, params: dict[str, Any]) -> dict[str, str]:
        return {WEIGHTS: "class weights per group and label, for the trainer"} if params.get("weights_by") else {}

    def apply(self, batch: pl.DataFrame, plan: BalancePlan) -> StepResult:
        frame = batch.with_columns(self._group()).join(plan.ranks, on="_id", how="left", maintain_order="left")
        limit = pl.col("_group").replace_strict(plan.keep_below, default=0, return_dtype=pl.Int64)
        keep = pl.col("_group").is_null() | (pl.col("_rank") < limit)  # rows without a group stay as they are
        frame = frame.with_columns(pl.when(keep).then(None).otherwise(pl.lit(OVER_QUOTA)).alias(REASON))
        kept = frame.filter(pl.col(REASON).is_null())
        every = pl.col("_group").replace_strict(
            {g: c[0] for g, c in plan.copies.items()}, default=0, return_dtype=pl.Int64
        )
        extra = pl.col("_group").replace_strict(
            {g: c[1] for g, c in plan.copies.items()}, default=0, return_dtype=pl.Int64
        )
        kept = kept.with_columns((every + (pl.col("_rank") < extra).cast(pl.Int64)).alias("_copies"))
        repeats = kept.filter(pl.col("_copies") > 0)
        if repeats.height:
            repeats = (
                repeats.with_columns(pl.int_ranges(1, pl.col("_copies") + 1).alias("_repeat"))
                .explode("_repeat")
                .with_columns(
                    pl.col("_id").alias("_repeat_of"),
                    (pl.col("_id") + "~r" + pl.col("_repeat").cast(pl.String)).alias("_id"),
                )
            )
        originals = kept.with_columns(pl.lit(0, pl.Int64).alias("_repeat"), pl.lit(None, pl.String).alias("_repeat_of"))
        helper = ["_group", "_rank", "_copies", REASON]
        out = pl.concat([originals, repeats], how="diagonal_relaxed") if repeats.height else originals
        out = out.drop(helper, strict=False)
        rejected = frame.filter(pl.col(REASON).is_not_null()).drop(["_group", "_rank"])
        stats = {"repeated_rows": repeats.height} if repeats.height else {}
        return StepResult(kept=out, rejected=rejected, stats=stats)
