"""`dedup`: remove (or tag) exact and near-duplicate rows, in memory that grows with the rows, not their text.

`fit` sees the stage one batch at a time and keeps per row only its id and a few numbers; its LSH band keys, its
shingle hashes (exact verification) and, where pairs are compared by them, its signature go to files in the step's
work folder, read back one band at a time or for the candidate pairs only. Candidate pairs come from the buckets of
each band, are verified, and become clusters by connected components. The state handed to `apply` is a small frame of the rows that belong to a
cluster of two or more.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import Field, field_validator, model_validator

from curate.core.errors import CurateError
from curate.core.markdown import figures_table
from curate.core.rows import REASON
from curate.dedup import exact as exact_hash
from curate.dedup.clusters import components, keepers
from curate.dedup.jaccard import ShingleSpill
from curate.dedup.lsh import BandKeySpill, band_keys, candidate_edges, optimal_param
from curate.dedup.minhash import MAX_HASH, Permutations, jaccard, signatures
from curate.dedup.shingles import MAX_NGRAM, batch_shingles, normalized
from curate.dedup.store import FORMAT, StoreWriter, check_compatible, find_store, iter_parts, read_clusters, store_name
from curate.stages.base import CardSection, GlobalStep, StepConfig, StepResult
from curate.stages.registry import register

HASH_VERSION = "curate-poly64-v1"  # bump when shingle hashing changes: old stores become incompatible
REASONS = {"exact": "exact_duplicate", "minhash": "near_duplicate"}
_MINHASH_ONLY = ("threshold", "num_perm", "seed", "ngram", "tokenize", "scheme", "bands", "rows", "weights", "verify")
RECALL_WEIGHTS = (0.05, 0.95)  # with verification, false candidates cost only time: bands are chosen for recall
BALANCED_WEIGHTS = (0.5, 0.5)  # datasketch's default, for `verify: none`


class DedupConfig(StepConfig):
    method: Literal["minhash", "exact"] = Field(
        "minhash",
        description="`exact`: equal after normalisation (XXH3-128 of the text); `minhash`: Jaccard "
        "similarity of shingle sets at least `threshold` (MinHash LSH)",
    )
    field: str | None = Field(None, description="text column to compare (shorthand for `fields: [column]`)")
    fields: list[str] | None = Field(
        None, min_length=1, description="text columns compared together, e.g. `[text, target]` (default `[text]`)"
    )
    action: Literal["drop", "tag"] = Field(
        "drop",
        description="`drop`: reject all but one row per cluster (reason `exact_duplicate` or "
        "`near_duplicate`, column `dup_of` = the kept row's `_id`); `tag`: keep every row and write `dup_cluster` "
        "(the smallest `_id` of the row's cluster; its own `_id` when it has no duplicate)",
    )
    keep: str = Field(
        "first",
        description="row kept per cluster: `first` (input order), `longest` (most characters), or the "
        "name of a numeric column (highest wins; missing values lose); ties go to the earlier row",
    )
    lowercase: bool = Field(True, description="compare texts lowercased")
    fold_punctuation: bool = Field(True, description="treat punctuation and symbols as spaces")
    fold_whitespace: bool = Field(True, description="collapse runs of whitespace and trim the ends")
    threshold: float = Field(
        0.8,
        gt=0.0,
        le=1.0,
        description="minhash: Jaccard similarity of the shingle sets from which two rows are near-duplicates",
    )
    num_perm: int = Field(128, ge=2, le=1024, description="minhash: permutations (signature length)")
    seed: int = Field(1, ge=0, lt=2**32, description="minhash: seed of the permutations (datasketch's default is 1)")
    ngram: int = Field(5, ge=1, le=MAX_NGRAM, description="minhash: tokens per shingle")
    tokenize: Literal["auto", "word", "char"] = Field(
        "auto",
        description="minhash: shingle tokens; `auto` uses characters for texts mostly in scripts written "
        "without spaces (Chinese, Japanese, Thai, Lao, Khmer, Myanmar, Tibetan) and words otherwise",
    )
    scheme: Literal["affine32", "legacy"] = Field(
        "affine32",
        description="minhash: datasketch permutation scheme (`affine32`: datasketch >= 2.0 default; "
        "`legacy`: datasketch < 2.0, slower)",
    )
    verify: Literal["exact", "estimate", "none"] = Field(
        "exact",
        description="minhash: check each candidate pair: `exact` Jaccard similarity of the shingle sets "
        "(shingle hashes are spilled to the work folder, 4 bytes per shingle); `estimate` from the signatures "
        "(no spill; standard error about sqrt(J(1-J)/num_perm)); `none`: every LSH candidate is a duplicate",
    )
    weights: tuple[float, float] | None = Field(
        None,
        description="minhash: weights of false positives and false negatives when deriving bands and rows from "
        "the threshold as datasketch does (default 0.05/0.95 with verification, which removes false candidates; "
        "datasketch's 0.5/0.5 without)",
    )
    bands: int | None = Field(
        None, ge=1, description="minhash: LSH bands (set with `rows` to override the threshold's)"
    )
    rows: int | None = Field(None, ge=1, description="minhash: rows per LSH band")
    against: list[str] | None = Field(
        None,
        description="output folders of earlier runs (or their signature stores) to dedup against: rows that "
        "duplicate a row there are dropped (or tagged) with `dup_of` = that run's kept `_id`",
    )
    save_signatures: bool = Field(True, description="write the signatures to OUT/signatures/ for a later `against`")

    @field_validator("against", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("verify", mode="before")
    @classmethod
    def _verify_bool(cls, value: Any) -> Any:
        return {True: "exact", False: "none"}.get(value, value) if isinstance(value, bool) else value

    @model_validator(mode="after")
    def _consistent(self) -> DedupConfig:
        if self.field is not None and self.fields is not None:
            raise ValueError("give `field` or `fields`, not both")
        if (self.bands is None) != (self.rows is None):
            raise ValueError("give both `bands` and `rows` (or neither, to derive them from `threshold`)")
        if self.bands is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands x rows ({self.bands} x {self.rows}) is more than num_perm ({self.num_perm})")
        if self.method == "exact":
            misplaced = sorted(set(_MINHASH_ONLY) & self.model_fields_set)
            if misplaced:
                verb = "applies" if len(misplaced) == 1 else "apply"
                raise ValueError(f"{', '.join(misplaced)} only {verb} to `method: minhash`")
        return self

    def columns(self) -> list[str]:
        return [self.field] if self.field is not None else list(self.fields or ["text"])

    def score_column(self) -> str | None:
        return None if self.keep in ("first", "longest") else self.keep


@dataclass
class DedupState:
    """What `apply` needs: the rows in clusters of two or more (`_id`, `dup_of` (null for the kept row),
    `dup_cluster`), and figures from `fit` for the record."""

    clusters: pl.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Collected:
    """Per-row facts gathered by `fit` (earlier runs' rows first), all in row order."""

    keys: BandKeySpill
    ids: list[pl.Series] = field(default_factory=list)
    present: list[np.ndarray] = field(default_factory=list)
    priority: list[np.ndarray] = field(default_factory=list)
    old_clusters: list[pl.DataFrame] = field(default_factory=list)
    n_old: int = 0

    def add(self, ids: pl.Series, keys: np.ndarray, present: np.ndarray, priority: np.ndarray) -> None:
        self.ids.append(ids)
        self.keys.add(keys)
        self.present.append(present)
        self.priority.append(priority)


class _SpillRecorder:
    """Keeps a batch's shingle hashes in memory (on a worker) until they are written to the real spill file."""

    def __init__(self):
        self.adds: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, starts: np.ndarray, counts: np.ndarray, hashes: np.ndarray) -> None:
        self.adds.append((starts, counts, hashes))

    def replay(self, spill: ShingleSpill) -> None:
        for starts, counts, hashes in self.adds:
            spill.add(starts, counts, hashes)


@dataclass
class _Partial:
    """What `fit_map` found in one batch."""

    ids: pl.Series
    sigs: np.ndarray
    present: np.ndarray
    keys: np.ndarray
    priority: np.ndarray
    spilled: _SpillRecorder | None


@register("dedup")
class Dedup(GlobalStep):
    """Remove or tag exact and near-duplicate rows (MinHash LSH), in any script, optionally against earlier runs."""

    Config = DedupConfig
    config: DedupConfig
    state_type = DedupState

    @classmethod
    def card_sections(cls, steps: list[dict[str, Any]]) -> list[CardSection]:
        text = "What the `dedup` step found.\n\n" + figures_table(steps)
        return [CardSection("Deduplication", text, steps[0]["index"], "findings")]

    def requires(self) -> list[str]:
        score = self.config.score_column()
        return list(dict.fromkeys(self.config.columns() + ([score] if score else [])))

    def produces(self) -> list[str]:
        return ["dup_cluster"] if self.config.action == "tag" else []

    def fit_columns(self) -> list[str]:
        return ["_id"] + self.requires()

    def setup(self) -> None:
        for location in self._against_dirs():
            find_store(location, self._store_name())

    # configuration -----------------------------------------------------------------------------------------------
    @property
    def reason(self) -> str:
        return REASONS[self.config.method]

    def _store_name(self) -> str:
        return store_name(self.config.method, self.config.columns())

    def _meta(self) -> dict[str, Any]:
        c = self.config
        meta = {
            "format": FORMAT,
            "method": c.method,
            "fields": c.columns(),
            "lowercase": c.lowercase,
            "fold_punctuation": c.fold_punctuation,
            "fold_whitespace": c.fold_whitespace,
        }
        if c.method == "minhash":
            meta |= {
                "num_perm": c.num_perm,
                "seed": c.seed,
                "scheme": c.scheme,
                "tokenize": c.tokenize,
                "ngram": c.ngram,
                "hash": HASH_VERSION,
            }
        else:
            meta |= {"hash": "xxh3-128"}
        return meta

    def _width(self) -> int:
        return exact_hash.WIDTH if self.config.method == "exact" else self.config.num_perm

    def lsh_params(self) -> tuple[int, int]:
        """(bands, rows per band)."""
        c = self.config
        if c.method == "exact":
            return 1, exact_hash.WIDTH
        if c.bands is not None:
            return c.bands, c.rows
        weights = c.weights or (BALANCED_WEIGHTS if c.verify == "none" else RECALL_WEIGHTS)
        return optimal_param(c.threshold, c.num_perm, weights[0], weights[1])

    def _against_dirs(self) -> list[Path]:
        out = []
        for entry in self.config.against or []:
            path = Path(entry).expanduser()
            if not path.is_absolute() and not path.exists() and (self.context.recipe_dir / path).exists():
                path = self.context.recipe_dir / path
            if not path.exists():
                raise CurateError(
                    f"dedup `against`: {entry} does not exist (looked in {Path.cwd()} and in "
                    f"{self.context.recipe_dir.resolve()})"
                )
            out.append(path)
        return out

    # per batch ---------------------------------------------------------------------------------------------------
    def compared_text(self, frame: pl.DataFrame) -> pl.Series:
        """The text of each row as it is compared: its fields joined by a line break; for exact dedup also
        lowercased and folded here (minhash lowercases and folds on code points, in the same way)."""
        c = self.config
        exact = c.method == "exact"
        parts = [
            normalized(
                pl.col(f).cast(pl.String),
                exact and c.lowercase,
                exact and c.fold_punctuation,
                exact and c.fold_whitespace,
            )
            for f in c.columns()
        ]
        expr = parts[0] if len(parts) == 1 else pl.concat_str(parts, separator="\n")
        return frame.select(expr.alias("compared"))["compared"]

    def signatures(self, texts: pl.Series, spill: ShingleSpill | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(signature per row, whether the row has anything to compare); the shingle hashes go to `spill`."""
        c = self.config
        if c.method == "exact":
            return exact_hash.content_hashes(texts), np.ones(len(texts), dtype=bool)
        hashes, per_doc = batch_shingles(texts, c.tokenize, c.ngram, c.lowercase, c.fold_punctuation, c.fold_whitespace)
        if spill is not None:
            spill.add(np.concatenate(([0], np.cumsum(per_doc)[:-1])), per_doc, hashes)
        return signatures(hashes, per_doc, Permutations(c.num_perm, c.seed, c.scheme)), per_doc > 0

    def _priority(self, frame: pl.DataFrame) -> np.ndarray:
        """Smaller wins: the keep policy as a number per row (ties go to input order)."""
        c = self.config
        if c.keep == "first":
            return np.zeros(frame.height, dtype=np.int8)
        if c.keep == "longest":
            chars = [pl.col(f).cast(pl.String).str.len_chars().fill_null(0) for f in c.columns()]
            return -frame.select(pl.sum_horizontal(chars).alias("n"))["n"].to_numpy().astype(np.float64)
        score = frame[c.keep]
        if not (score.dtype.is_numeric() or score.dtype == pl.Boolean):
            raise CurateError(
                f"dedup `keep: {c.keep}`: column '{c.keep}' is {score.dtype}, not numeric; use "
                "`first`, `longest` or a numeric column"
            )
        values = score.cast(pl.Float64).fill_nan(None).fill_null(float("-inf")).to_numpy()
        return -values

    # fit ---------------------------------------------------------------------------------------------------------
    def fit(self, frames: Iterator[pl.DataFrame]) -> DedupState:
        return self.fit_reduce(self.fit_map(frame) for frame in frames)

    def fit_map(self, frame: pl.DataFrame) -> _Partial | None:
        """Signatures, band keys and shingle hashes of one batch: the part of `fit` that runs in parallel on the Ray
        engine's workers."""
        if frame.height == 0:
            return None
        recorder = _SpillRecorder() if self._verifies_exactly() else None
        sigs, present = self.signatures(self.compared_text(frame), recorder)
        bands, rows = self.lsh_params()
        return _Partial(frame["_id"], sigs, present, band_keys(sigs, bands, rows), self._priority(frame), recorder)

    def _verifies_exactly(self) -> bool:
        return self.config.method == "minhash" and self.config.verify == "exact"

    def fit_reduce(self, partials: Iterator[_Partial | None]) -> DedupState:
        with tempfile.TemporaryDirectory(prefix="dedup-", dir=self.context.workdir) as tmp:
            return self._reduce(partials, Path(tmp))

    def _reduce(self, partials: Iterator[_Partial | None], tmp: Path) -> DedupState:
        c = self.config
        bands, rows = self.lsh_params()
        writer = None
        if c.save_signatures and self.context.output_dir is not None:
            writer = StoreWriter(Path(self.context.output_dir), self._store_name(), self._meta())
        spill = ShingleSpill(tmp / "shingles.u32") if self._verifies_exactly() else None
        sig_path = tmp / "signatures.u32"
        # signatures are read back to compare pairs by them (exact hashes, estimates, earlier runs' rows)
        keep_sigs = c.method == "exact" or c.verify == "estimate" or bool(c.against)
        got = _Collected(BandKeySpill(tmp, bands))
        try:
            with open(sig_path, "wb") if keep_sigs else contextlib.nullcontext() as sig_file:
                for location in self._against_dirs():  # earlier runs first: their rows win every cluster
                    self._load_store(location, got, sig_file, spill, bands, rows)
                got.n_old = sum(len(s) for s in got.ids)
                for part in partials:
                    if part is None:
                        continue
                    if sig_file is not None:
                        sig_file.write(part.sigs.tobytes())
                    got.add(part.ids, part.keys, part.present, part.priority)
                    if spill is not None:
                        part.spilled.replay(spill)
                    if writer is not None:
                        writer.write(part.ids, part.sigs)
            if spill is not None:
                spill.close()
            n = sum(len(s) for s in got.ids)
            sig_matrix = (
                np.memmap(sig_path, dtype=np.uint32, mode="r", shape=(n, self._width())) if n and keep_sigs else None
            )
            state = self._cluster(got, self._verifier(sig_matrix, spill))
            if writer is not None:
                self._finish_store(writer, got, sig_matrix, state.clusters)
                writer = None
            return state
        finally:
            got.keys.close()
            if writer is not None:
                writer.abort()

    def _load_store(
        self, location: Path, got: _Collected, sig_file, spill: ShingleSpill | None, bands: int, rows: int
    ) -> None:
        store = find_store(location, self._store_name())
        check_compatible(store, self._meta())
        for ids, sigs in iter_parts(store):
            if sigs.shape[1] != self._width():
                raise CurateError(
                    f"dedup `against`: {store} holds signatures of {sigs.shape[1]} values, expected {self._width()}"
                )
            sig_file.write(sigs.tobytes())
            present = np.ones(len(ids), dtype=bool) if self.config.method == "exact" else (sigs != MAX_HASH).any(axis=1)
            got.add(ids, band_keys(sigs, bands, rows), present, np.zeros(len(ids), dtype=np.int8))
            if spill is not None:
                spill.skip(len(ids))
        got.old_clusters.append(read_clusters(store))

    def _verifier(
        self, sig_matrix: np.ndarray | None, spill: ShingleSpill | None
    ) -> Callable[[np.ndarray, np.ndarray], np.ndarray] | None:
        """Whether candidate pairs are duplicates: equal hashes (exact), or Jaccard similarity >= threshold,
        exact where both rows' shingles are known (earlier runs' rows have only signatures), else estimated."""
        c = self.config
        if c.method == "minhash" and c.verify == "none":
            return None
        threshold = 1.0 if c.method == "exact" else c.threshold

        def estimate(u: np.ndarray, v: np.ndarray) -> np.ndarray:
            out = np.empty(len(u), dtype=np.float64)
            for lo in range(0, len(u), 1 << 16):
                out[lo : lo + (1 << 16)] = jaccard(
                    np.asarray(sig_matrix[u[lo : lo + (1 << 16)]]), np.asarray(sig_matrix[v[lo : lo + (1 << 16)]])
                )
            return out

        def verify(u: np.ndarray, v: np.ndarray) -> np.ndarray:
            if spill is None:
                return estimate(u, v) >= threshold - 1e-9
            similarity = np.empty(len(u), dtype=np.float64)
            known = spill.known(u) & spill.known(v)
            similarity[known] = spill.jaccard(u[known], v[known])
            similarity[~known] = estimate(u[~known], v[~known])
            return similarity >= threshold - 1e-9

        return verify

    def _cluster(self, got: _Collected, verify: Callable | None) -> DedupState:
        n, n_old = sum(len(s) for s in got.ids), got.n_old
        stats: dict[str, Any] = {"rows": n - n_old, "earlier_rows": n_old}
        if self.config.method == "minhash":
            stats["bands"], stats["rows_per_band"] = self.lsh_params()
        if n == 0:
            return DedupState(_empty_clusters(), stats)
        all_ids = pl.concat(got.ids)
        is_new = np.arange(n) >= n_old
        active = np.concatenate(got.present)
        if n_old:  # an earlier run's row that this run reads again is the same row: only its new copy takes part
            active[:n_old] &= ~all_ids.head(n_old).is_in(all_ids.slice(n_old).implode()).to_numpy()
        u, v, counts = candidate_edges(
            got.keys.columns(), verify, relevant=is_new if n_old else None, active=None if active.all() else active
        )
        stats.update(counts)
        labels = components(n, u, v)
        priority = np.concatenate(got.priority)
        keeper = keepers(labels, [is_new, priority] if n_old else [priority])
        size = np.bincount(labels, minlength=n)[labels]
        members = np.flatnonzero((size > 1) & is_new)
        stats["clusters"] = int(np.unique(labels[members]).size)
        kept_ids = all_ids.gather(keeper[members])
        if n_old:  # an earlier run's row points at the row that run kept
            old_dup = pl.concat(got.old_clusters).unique("_id", keep="first")
            kept_ids = (
                kept_ids.to_frame("_id")
                .join(old_dup, on="_id", how="left", maintain_order="left")
                .select(pl.coalesce("dup_of", "_id"))["dup_of"]
            )
        smallest = (
            pl.DataFrame({"label": labels[size > 1], "_id": all_ids.filter(pl.Series(size > 1))})
            .group_by("label")
            .agg(pl.col("_id").min().alias("dup_cluster"))
        )
        rows = {
            "_id": all_ids.gather(members),
            "label": labels[members],
            "dup_of": kept_ids.alias("dup_of"),
            "is_keeper": keeper[members] == members,
        }
        clusters = (
            pl.DataFrame(rows)
            .join(smallest, on="label", how="left", maintain_order="left")
            .select("_id", pl.when(~pl.col("is_keeper")).then(pl.col("dup_of")).alias("dup_of"), "dup_cluster")
            .unique("_id", keep="first", maintain_order=True)
        )
        stats["duplicates"] = int(clusters["dup_of"].is_not_null().sum())
        return DedupState(clusters, stats)

    def _finish_store(
        self, writer: StoreWriter, got: _Collected, sig_matrix: np.ndarray | None, clusters: pl.DataFrame
    ) -> None:
        """Carry the earlier runs' rows into this run's store (except rows read again), then swap it in."""
        n_old = got.n_old
        if n_old:
            all_ids = pl.concat(got.ids)
            old_ids, new_ids = all_ids.head(n_old), all_ids.slice(n_old)
            carried = ~old_ids.is_in(new_ids.implode()).to_numpy()
            for lo in range(0, n_old, 1 << 16):
                keep = np.flatnonzero(carried[lo : lo + (1 << 16)]) + lo
                writer.write(old_ids.gather(keep), np.asarray(sig_matrix[keep]))
            old = pl.concat(got.old_clusters).filter(~pl.col("_id").is_in(new_ids.implode()))
        else:
            old = pl.DataFrame(schema={"_id": pl.String, "dup_of": pl.String})
        dups = clusters.filter(pl.col("dup_of").is_not_null()).select("_id", "dup_of")
        writer.finish(pl.concat([old, dups]).unique("_id", keep="last", maintain_order=True))

    # apply -------------------------------------------------------------------------------------------------------
    def fit_stats(self, state: DedupState) -> dict[str, int]:
        return {k: v for k, v in state.stats.items() if isinstance(v, int) and not isinstance(v, bool)}

    def apply(self, batch: pl.DataFrame, state: DedupState) -> StepResult:
        if self.config.action == "tag":
            tags = state.clusters.drop("dup_of")
            joined = batch.drop("dup_cluster", strict=False).join(tags, on="_id", how="left", maintain_order="left")
            tagged = int(joined["dup_cluster"].is_not_null().sum())
            kept = joined.with_columns(pl.coalesce("dup_cluster", "_id").alias("dup_cluster"))
            return StepResult(
                kept=kept, rejected=batch.clear(), stats=Counter({"dup_tagged": tagged} if tagged else {})
            )
        joined = batch.join(state.clusters.drop("dup_cluster"), on="_id", how="left", maintain_order="left")
        is_dup = pl.col("dup_of").is_not_null()
        kept = joined.filter(~is_dup).drop("dup_of")
        rejected = joined.filter(is_dup).with_columns(pl.lit(self.reason).alias(REASON))
        return StepResult(kept=kept, rejected=rejected)


def _empty_clusters() -> pl.DataFrame:
    return pl.DataFrame(schema={"_id": pl.String, "dup_of": pl.String, "dup_cluster": pl.String})
