"""Atomic file writes and schema-stable parquet shards.

Everything is written to a temporary name in the same folder and renamed into place, so a killed run never leaves a
half file under a final name. Shards are written with the oldest Arrow layout polars offers (plain strings), so
`datasets.load_dataset("parquet", ...)` and other readers load them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def write_parquet_atomic(frame: pl.DataFrame, path: Path) -> None:
    """Work files (every stage's parts): zstd's fastest level, as they are read once or twice and then deleted."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(path)
    frame.write_parquet(tmp, compression="zstd", compression_level=1)
    os.replace(tmp, path)


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(path)
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_json_atomic(path: Path, value: Any) -> None:
    write_text_atomic(path, json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def unified_schema(schemas: Iterable[pl.Schema], front: list[str] = ()) -> pl.Schema:
    """One schema for frames whose columns or types differ (a field missing in one file, ints in one, floats in
    another): columns in order of first appearance, each with the type all of them cast to."""
    empties = [pl.DataFrame(schema=s) for s in schemas]
    if not empties:
        return pl.Schema()
    merged = pl.concat(empties, how="diagonal_relaxed").schema
    names = [c for c in front if c in merged] + [c for c in merged if c not in front]
    return pl.Schema({name: merged[name] for name in names})


def conform(frame: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    return frame.select(
        [pl.col(c).cast(t) if c in frame.columns else pl.lit(None, dtype=t).alias(c) for c, t in schema.items()]
    )


class ShardWriter:
    """Writes rows of one schema into `{prefix}-00000-of-0000N.parquet` files of at most `rows_per_shard` rows,
    for a known total, each shard renamed into place when complete."""

    def __init__(
        self, folder: Path, prefix: str, schema: pl.Schema, total_rows: int, rows_per_shard: int, single: bool = False
    ):
        self.folder, self.prefix, self.schema, self.single = folder, prefix, schema, single
        self.arrow_schema = pl.DataFrame(schema=schema).to_arrow(compat_level=pl.CompatLevel.oldest()).schema
        self.rows_per_shard = rows_per_shard
        self.count = 1 if single else max(1, -(-total_rows // rows_per_shard))
        if single:
            rows_per_shard = self.rows_per_shard = max(total_rows, 1)
        self.index, self.in_shard, self.writer, self.paths = 0, 0, None, []
        folder.mkdir(parents=True, exist_ok=True)

    def path(self, index: int) -> Path:
        if self.single:
            return self.folder / f"{self.prefix}.parquet"
        return self.folder / f"{self.prefix}-{index:05d}-of-{self.count:05d}.parquet"

    def _open(self) -> None:
        self.writer = pq.ParquetWriter(_tmp(self.path(self.index)), self.arrow_schema, compression="zstd")

    def _close_current(self) -> None:
        self.writer.close()
        os.replace(_tmp(self.path(self.index)), self.path(self.index))
        self.paths.append(self.path(self.index))
        self.writer, self.in_shard = None, 0
        self.index += 1

    def write(self, frame: pl.DataFrame) -> None:
        frame = conform(frame, self.schema)
        while frame.height:
            if self.writer is None:
                self._open()
            take = min(frame.height, self.rows_per_shard - self.in_shard)
            table = frame.head(take).to_arrow(compat_level=pl.CompatLevel.oldest())
            self.writer.write_table(table.cast(self.arrow_schema))
            self.in_shard += take
            frame = frame.slice(take)
            if self.in_shard == self.rows_per_shard and self.index < self.count - 1:
                self._close_current()

    def close(self) -> list[Path]:
        while self.index < self.count:  # an empty split still gets its one (empty) shard
            if self.writer is None:
                self._open()
            self._close_current()
        return self.paths


def parquet_rows(path: Path) -> int:
    return pq.ParquetFile(path).metadata.num_rows
