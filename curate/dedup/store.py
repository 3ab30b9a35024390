"""The signature store: what a dedup step leaves in its output so that a later run can dedup new data against it.

```
OUT/signatures/<method>[-<fields>]/
  meta.json            how the signatures were made (method, num_perm, seed, scheme, shingling, normalisation)
  part-00000.parquet   _id, signature (Array[UInt32, width]) of every row the step saw, one file per input batch
  clusters.parquet     _id, dup_of: the kept row of every row that duplicates another (kept rows are not listed)
```
The store is cumulative: a run with `against:` copies the rows of the old store into its own, so run N+1 can be
deduped against run N alone. It is written to a hidden folder and renamed when complete, so a killed run never
leaves a half store that looks whole. Band keys are not stored: they are recomputed from the signatures, so a later
run may use another threshold.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from curate.core.errors import CurateError

FORMAT = 1
STORE_DIR = "signatures"
META = "meta.json"
CLUSTERS = "clusters.parquet"
# meta keys that must agree for two stores' signatures to be comparable
COMPATIBLE_KEYS = (
    "method",
    "fields",
    "num_perm",
    "seed",
    "scheme",
    "tokenize",
    "ngram",
    "lowercase",
    "fold_punctuation",
    "fold_whitespace",
    "hash",
)


def store_name(method: str, fields: list[str]) -> str:
    return method if fields == ["text"] else f"{method}-{'+'.join(fields)}"


def find_store(location: Path, name: str) -> Path:
    """The store folder for `name` given a previous run's output folder (or the store folder itself)."""
    for candidate in (location / STORE_DIR / name, location):
        if (candidate / META).exists():
            return candidate
    found = sorted(p.parent.name for p in (location / STORE_DIR).glob(f"*/{META}")) if location.is_dir() else []
    hint = (
        f"; it has stores for: {', '.join(found)} (same method and fields needed)"
        if found
        else "; run the dedup step once with `output_dir` there to create one"
    )
    raise CurateError(f"dedup `against`: no signature store '{name}' in {location}{hint}")


def read_meta(store: Path) -> dict[str, Any]:
    return json.loads((store / META).read_text())


def check_compatible(store: Path, meta: dict[str, Any]) -> None:
    """Signatures made another way cannot be compared: say which setting differs and what it was."""
    old = read_meta(store)
    if old.get("format") != FORMAT:
        raise CurateError(f"dedup `against`: {store} has store format {old.get('format')}, this curate reads {FORMAT}")
    diffs = [f"{k}: {old.get(k)!r} there, {meta.get(k)!r} here" for k in COMPATIBLE_KEYS if old.get(k) != meta.get(k)]
    if diffs:
        raise CurateError(
            f"dedup `against`: the signatures in {store} were made with other settings ("
            + "; ".join(diffs)
            + "); use the same settings as that run"
        )


def iter_parts(store: Path) -> Iterator[tuple[pl.Series, np.ndarray]]:
    """(ids, signatures) of each part file, in order."""
    for part in sorted(store.glob("part-*.parquet")):
        frame = pl.read_parquet(part)
        yield frame["_id"], _matrix(frame["signature"])


def read_clusters(store: Path) -> pl.DataFrame:
    path = store / CLUSTERS
    if not path.exists():
        return pl.DataFrame(schema={"_id": pl.String, "dup_of": pl.String})
    return pl.read_parquet(path)


def _matrix(column: pl.Series) -> np.ndarray:
    values = column.to_numpy()
    return np.ascontiguousarray(values, dtype=np.uint32).reshape(len(column), -1)


class StoreWriter:
    """Writes a store to a hidden folder beside its final place; `finish` swaps it in."""

    def __init__(self, output_dir: Path, name: str, meta: dict[str, Any]):
        self.final = output_dir / STORE_DIR / name
        self.tmp = output_dir / STORE_DIR / f".{name}.tmp-{os.getpid()}"
        self.meta = {"format": FORMAT, **meta}
        self.parts = 0
        self.rows = 0
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        self.tmp.mkdir(parents=True)

    def write(self, ids: pl.Series, sigs: np.ndarray) -> None:
        if len(ids) == 0:
            return
        frame = pl.DataFrame([ids.alias("_id").cast(pl.String), pl.Series("signature", sigs)])
        frame.write_parquet(self.tmp / f"part-{self.parts:05d}.parquet", compression="zstd", compression_level=1)
        self.parts += 1
        self.rows += len(ids)

    def finish(self, clusters: pl.DataFrame) -> Path:
        clusters.select("_id", "dup_of").write_parquet(self.tmp / CLUSTERS)
        (self.tmp / META).write_text(json.dumps({**self.meta, "rows": self.rows}, indent=2, sort_keys=True))
        old = self.final.with_name(f".{self.final.name}.old-{os.getpid()}")
        if self.final.exists():
            self.final.rename(old)
        self.tmp.rename(self.final)
        shutil.rmtree(old, ignore_errors=True)
        return self.final

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)
