"""Figures for the manifest and the card, counted from the files a run wrote (one column at a time)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import polars as pl

from curate.workdir import StageDir


def value_counts(files: list[Path], column: str) -> dict[str, int]:
    """Rows per value of `column` over parquet files that have it, most frequent first."""
    counts: Counter = Counter()
    for f in files:
        if column in pl.read_parquet_schema(f):
            counts.update({str(k): int(v) for k, v in pl.read_parquet(f, columns=[column])[column].value_counts().iter_rows()})
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def languages_before(stages: list[StageDir], parts: list[str]) -> dict[str, int]:
    """Languages of all rows when language ID first tagged them (kept and rejected alike)."""
    for stage in stages[1:]:
        files = [stage.data(p) for p in parts]
        if files and "text_lang" in pl.read_parquet_schema(files[0]):
            return value_counts(files + stage.reject_files(parts), "text_lang")
    return {}


def synthetic_by_origin(data_files: list[Path], reject_files: list[Path]) -> dict[str, dict[str, float]]:
    """Per origin (step and model) of synthetic rows: kept, rejected and the validation pass rate."""
    def origins(files: list[Path]) -> Counter:
        counts: Counter = Counter()
        for f in files:
            schema = pl.read_parquet_schema(f)
            if "_origin" in schema and "_synthetic" in schema:
                frame = pl.read_parquet(f, columns=["_origin", "_synthetic"]).filter(pl.col("_synthetic").fill_null(False))
                counts.update({str(k): int(v) for k, v in frame["_origin"].cast(pl.String).value_counts().iter_rows()})
        return counts

    kept, rejected = origins(data_files), origins(reject_files)
    return {o: {"kept": kept[o], "rejected": rejected[o], "pass_rate": round(kept[o] / (kept[o] + rejected[o]), 4)}
            for o in sorted(set(kept) | set(rejected))}  # fmt: skip
