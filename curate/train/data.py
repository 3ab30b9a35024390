"""Training data from a curate output: shards, prompt templates, language-aware sampling and class weights.

Everything here is polars and numpy: a prompt template becomes one `concat_str` expression, languages and class
weights are joins, and an epoch's order is one draw from a seeded generator. Tokenisation is one batch call.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from curate.core import languages
from curate.core.errors import CurateError
from curate.outputs.manifest import load_manifest
from curate.train.config import LANGUAGE_PLACEHOLDERS, Data, TrainConfig

UNKNOWN_LANG = "und"
_NULL_GROUP = "<none>"  # the balance step's name for a missing group or label value
IGNORE = -100  # label value the loss skips


class DataError(CurateError):
    """The training data cannot be used as configured (missing split, column, or no usable rows)."""

    exit_code = 2


# ---------------------------------------------------------------------------------------------------------------
# finding and reading the curated output


def find_last_run(root: Path = Path(".")) -> Path | None:
    """The output folder of the most recent finished `curate run` under `root` (by the manifest's `finished_at`).

    Looks at `root/*/manifest.json` down to three levels (e.g. `out/quickstart/manifest.json`), skipping caches."""
    best: tuple[str, float, Path] | None = None
    for pattern in ("*/manifest.json", "*/*/manifest.json", "*/*/*/manifest.json"):
        for path in root.glob(pattern):
            if any(part.startswith(".") for part in path.relative_to(root).parts[:-1]):
                continue
            manifest = load_manifest(path.parent)
            if manifest is None or "recipe_hash" not in manifest or not (path.parent / "data").is_dir():
                continue
            key = (str(manifest.get("finished_at", "")), path.stat().st_mtime, path.parent)
            if best is None or key[:2] > best[:2]:
                best = key
    return best[2] if best else None


def split_files(out: Path, split: str) -> list[Path]:
    return sorted((Path(out) / "data").glob(f"{split}-*.parquet"))


def available_splits(out: Path) -> list[str]:
    return sorted({p.name.rsplit("-", 3)[0] for p in (Path(out) / "data").glob("*.parquet")})


def read_split(out: Path, split: str) -> pl.DataFrame:
    """All shards of one split of a curate output, as one frame."""
    out = Path(out)
    if not (out / "data").is_dir():
        raise DataError(f"{out}: not a curate output folder (no data/ inside); run `curate run RECIPE` first")
    files = split_files(out, split)
    if not files:
        raise DataError(f"{out}: no split '{split}' (splits: {', '.join(available_splits(out)) or 'none'})")
    return pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")


_FILE_READERS = {
    ".jsonl": pl.read_ndjson,
    ".ndjson": pl.read_ndjson,
    ".parquet": pl.read_parquet,
    ".csv": lambda p: pl.read_csv(p, infer_schema=False),
    ".tsv": lambda p: pl.read_csv(p, separator="\t", infer_schema=False),
}


def read_files(pattern: str) -> pl.DataFrame:
    """Parallel files named by a path or glob (a retain set that is not a curate output); each row gets an `_id`
    (`file-stem:row`) unless it has one."""
    import glob

    paths = sorted(Path(p) for p in glob.glob(pattern)) if glob.has_magic(pattern) else [Path(pattern)]
    paths = [p for p in paths if p.is_file()]
    if not paths:
        raise DataError(f"{pattern}: no such file")
    frames = []
    for path in paths:
        reader = _FILE_READERS.get(path.suffix.lower())
        if reader is None:
            raise DataError(
                f"{path}: read .jsonl, .parquet, .csv or .tsv files (got '{path.suffix or 'no extension'}')"
            )
        try:
            frame = reader(path)
        except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
            raise DataError(f"{path}: not readable as {path.suffix} ({str(exc).splitlines()[0]})") from None
        if "_id" not in frame.columns:
            frame = frame.with_columns((pl.lit(f"{path.stem}:") + pl.int_range(pl.len()).cast(pl.String)).alias("_id"))
        frames.append(frame)
    return pl.concat(frames, how="diagonal_relaxed")


# ---------------------------------------------------------------------------------------------------------------
# languages and prompts


def language_column(frame: pl.DataFrame, configured: str | None, candidates: tuple[str, ...]) -> str | None:
    """The column that gives a row's language: the configured one, or for `auto` the first candidate present."""
    if configured is None:
        return None
    if configured != "auto":
        if configured not in frame.columns:
            raise DataError(f"language column '{configured}' not found (columns: {', '.join(frame.columns)})")
        return configured
    return next((c for c in candidates if c in frame.columns), None)


def language_expr(column: str | None, fixed: str | None) -> pl.Expr:
    value = pl.col(column).cast(pl.String) if column else pl.lit(None, pl.String)
    return value.fill_null(pl.lit(fixed or UNKNOWN_LANG)).replace("", fixed or UNKNOWN_LANG)


def language_name(code: str) -> str:
    """English name of a language code (`fra` -> `French`), for prompts; the code itself when unknown."""
    return code if code == UNKNOWN_LANG else languages.language_name(code)


def prompt_expr(template: str, columns: list[str]) -> pl.Expr:
    """The template as one vectorised string expression; placeholders name columns (nulls render as '')."""
    parts: list[pl.Expr] = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        if literal:
            parts.append(pl.lit(literal))
        if name is not None:
            if name not in columns:
                raise DataError(
                    f"prompt placeholder {{{name}}} is neither a column nor one of {', '.join(LANGUAGE_PLACEHOLDERS)} "
                    f"(columns: {', '.join(c for c in columns if not c.startswith('_'))})"
                )
            parts.append(pl.col(name).cast(pl.String).fill_null(""))
    return pl.concat_str(parts) if parts else pl.lit("")


# ---------------------------------------------------------------------------------------------------------------
# class weights


def read_class_weights(setting: str | None, out: Path) -> dict[str, Any] | None:
    """The balance step's `weights.json` (`{"by": [...], "label": col, "weights": {group: {label: w}}}`), or None."""
    if setting is None or setting == "none":
        return None
    path = Path(out) / "weights.json" if setting == "auto" else Path(setting)
    if not path.is_file():
        if setting == "auto":
            return None
        raise DataError(f"class weights file {path} not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("weights"), dict) or not data.get("label"):
        raise DataError(f'{path}: expected {{"by": [columns], "label": column, "weights": {{group: {{label: w}}}}}}')
    data["by"] = [data["by"]] if isinstance(data.get("by"), str) else list(data.get("by") or [])
    return data


def class_weight_expr(weights: dict[str, Any], columns: list[str]) -> pl.Expr:
    """Each row's weight: `weights[group][label]` where the group joins the `by` columns with '/' (1.0 if absent)."""
    by, label = weights["by"], weights["label"]
    missing = [c for c in [*by, label] if c not in columns]
    if missing:
        raise DataError(f"class weights need column(s) {', '.join(missing)}, which the data does not have")
    keys = {f"{group}\x00{lab}": float(w) for group, labels in weights["weights"].items() for lab, w in labels.items()}
    group = (
        pl.concat_str([pl.col(c).cast(pl.String).fill_null(_NULL_GROUP) for c in by], separator="/")
        if by
        else pl.lit("")
    )
    key = pl.concat_str([group, pl.lit("\x00"), pl.col(label).cast(pl.String).fill_null(_NULL_GROUP)])
    return key.replace_strict(keys, default=1.0, return_dtype=pl.Float64)


# ---------------------------------------------------------------------------------------------------------------
# examples


@dataclass
class Examples:
    """Rows ready to tokenise: the rendered input, the target, the target language, the loss weight."""

    frame: pl.DataFrame  # columns: _id, source (the prompt), input (the raw input), target, lang, group, weight, task
    dropped: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.frame.height

    @property
    def sources(self) -> list[str]:
        return self.frame["source"].to_list()

    @property
    def targets(self) -> list[str]:
        return self.frame["target"].to_list()

    @property
    def inputs(self) -> list[str]:
        return self.frame["input"].to_list()

    @property
    def tasks(self) -> np.ndarray:
        return self.frame["task"].to_numpy()

    @property
    def langs(self) -> np.ndarray:
        return self.frame["lang"].to_numpy()

    @property
    def groups(self) -> np.ndarray:
        return self.frame["group"].to_numpy()

    @property
    def weights(self) -> np.ndarray:
        return self.frame["weight"].to_numpy().astype(np.float64)

    def languages(self) -> dict[str, int]:
        counts = self.frame.group_by("lang").len().sort("lang")
        return dict(zip(counts["lang"].to_list(), counts["len"].to_list()))


def _keep(frame: pl.DataFrame, keep: pl.Expr, reason: str, dropped: dict[str, int]) -> pl.DataFrame:
    """The rows where `keep` holds; the others are counted under `reason`."""
    kept = frame.filter(keep)
    if kept.height < frame.height:
        dropped[reason] = dropped.get(reason, 0) + frame.height - kept.height
    return kept


def usable_rows(frame: pl.DataFrame, data: Data, evaluation: bool, dropped: dict[str, int]) -> pl.DataFrame:
    """Rows with an input and a target (the X -> English task of pairs without a target has no input), not a copy the
    balance step made (in evaluation, each row counts once), with their target and input languages resolved, in
    `data.langs` when it is set."""
    for name in (data.input_field, data.target_field):
        if name not in frame.columns:
            raise DataError(f"column '{name}' not found in the data (columns: {', '.join(frame.columns)})")
    for name in (data.target_field, data.input_field):
        value = pl.col(name).cast(pl.String)
        frame = _keep(frame, value.is_not_null() & (value.str.strip_chars() != ""), f"no {name}", dropped)
    if evaluation and "_repeat" in frame.columns:
        frame = _keep(frame, pl.col("_repeat").fill_null(0) == 0, "repeat", dropped)
    tgt_col = language_column(frame, data.target_lang_column, ("target_lang", "tgt_lang"))
    src_col = language_column(frame, data.source_lang_column, ("text_lang", "src_lang"))
    frame = frame.with_columns(
        language_expr(tgt_col, data.target_lang).alias("__target_lang"),
        language_expr(src_col, data.source_lang).alias("__source_lang"),
    )
    if data.langs is not None:
        frame = _keep(frame, pl.col("__target_lang").is_in(data.langs), "other languages", dropped)
    return frame


def build_examples(
    frame: pl.DataFrame,
    config: TrainConfig,
    *,
    weights: dict[str, Any] | None = None,
    evaluation: bool = False,
    limit: int | None = None,
    task: str = "",
) -> Examples:
    """Rows of one split -> `Examples`: render the prompt, resolve languages, attach class weights.

    Skipped rows are counted in `dropped` (see `usable_rows`). `task` names the rows' task (multi-task training)."""
    data: Data = config.data
    dropped: dict[str, int] = {}
    frame = usable_rows(frame, data, evaluation, dropped)
    names = {
        code: language_name(code)
        for code in set(frame["__target_lang"].unique()) | set(frame["__source_lang"].unique())
    }
    frame = frame.with_columns(
        pl.col("__target_lang").replace_strict(names, return_dtype=pl.String).alias("__target_lang_name"),
        pl.col("__source_lang").replace_strict(names, return_dtype=pl.String).alias("__source_lang_name"),
        pl.col(data.input_field).alias("__input"),
    )
    aliases = {f"__{p}": p for p in LANGUAGE_PLACEHOLDERS}
    view = frame.select([c for c in frame.columns if c not in aliases.values()]).rename(aliases)
    weight = class_weight_expr(weights, frame.columns) if weights and not evaluation else pl.lit(1.0)
    by = config.sampling.by
    if by is not None and by not in frame.columns:
        raise DataError(f"sampling.by: column '{by}' not found (columns: {', '.join(frame.columns)})")
    group = pl.col(by).cast(pl.String).fill_null(_NULL_GROUP) if by else pl.col("target_lang")
    out = view.select(
        pl.col("_id").cast(pl.String) if "_id" in view.columns else pl.int_range(pl.len()).cast(pl.String).alias("_id"),
        prompt_expr(config.prompt, view.columns).alias("source"),
        pl.col("input").cast(pl.String).alias("input"),
        pl.col(data.target_field).cast(pl.String).alias("target"),
        pl.col("target_lang").alias("lang"),
        group.alias("group"),
        weight.cast(pl.Float64).alias("weight"),
    )
    if limit is not None and out.height > limit:
        dropped["over max_train_rows"] = out.height - limit
        out = out.head(limit)
    return Examples(out.with_columns(pl.lit(task).alias("task")), dropped)


def concat_examples(parts: list[Examples]) -> Examples:
    """Several tasks' rows as one set; their skipped-row counts add up."""
    dropped: dict[str, int] = {}
    for part in parts:
        for reason, n in part.dropped.items():
            dropped[reason] = dropped.get(reason, 0) + n
    return Examples(pl.concat([p.frame for p in parts], how="vertical_relaxed"), dropped)


def cap_per_language(examples: Examples, limit: int | None) -> Examples:
    """At most `limit` rows per language (the first ones, in the split's order): evaluation stays fast."""
    if limit is None:
        return examples
    frame = examples.frame.with_row_index("__i").filter(pl.int_range(pl.len()).over("lang") < limit).drop("__i")
    dropped = dict(examples.dropped)
    if frame.height < examples.frame.height:
        dropped["over max_eval_rows_per_language"] = examples.frame.height - frame.height
    return Examples(frame, dropped)


# ---------------------------------------------------------------------------------------------------------------
# sampling


def language_probabilities(langs: np.ndarray, temperature: float) -> np.ndarray | None:
    """Per-row draw probability so that language l gets a share ∝ n_l^(1/T); None when T = 1 (plain shuffling)."""
    if temperature == 1.0 or len(langs) == 0:
        return None
    _, inverse, counts = np.unique(langs, return_inverse=True, return_counts=True)
    shares = counts.astype(np.float64) ** (1.0 / temperature)
    shares /= shares.sum()
    return shares[inverse] / counts[inverse]


def language_shares(langs: np.ndarray, temperature: float) -> dict[str, float]:
    """Expected share of each language in an epoch."""
    values, counts = np.unique(langs, return_counts=True)
    shares = counts.astype(np.float64) ** (1.0 / temperature)
    shares /= shares.sum()
    return {str(v): float(s) for v, s in zip(values, shares)}


def mixture_probabilities(
    tasks: np.ndarray, groups: np.ndarray, weights: dict[str, float], temperature: float
) -> np.ndarray | None:
    """Per-row draw probability for several tasks: task t gets weight_t / Σ weights of the draws and, within it,
    language l gets ∝ n_l^(1/T) (`language_probabilities`). One task: that function alone."""
    names = np.unique(tasks)
    if len(names) <= 1:
        return language_probabilities(groups, temperature)
    total = sum(weights[str(t)] for t in names)
    probabilities = np.zeros(len(tasks))
    for name in names:
        rows = tasks == name
        within = language_probabilities(groups[rows], temperature)
        probabilities[rows] = weights[str(name)] / total * (within if within is not None else 1.0 / rows.sum())
    return probabilities


def mixture_shares(
    tasks: np.ndarray, groups: np.ndarray, weights: dict[str, float], temperature: float
) -> dict[str, dict[str, float]]:
    """Expected share of each (task, language) in an epoch: `{task: {language: share}}`."""
    names = [str(t) for t in np.unique(tasks)]
    total = sum(weights[t] for t in names)
    shares = {t: language_shares(groups[tasks == t], temperature) for t in names}
    return {t: {lang: weights[t] / total * share for lang, share in shares[t].items()} for t in names}


def epoch_order(n: int, probabilities: np.ndarray | None, seed: int, epoch: int) -> np.ndarray:
    """Row indices for one epoch: a seeded permutation, or n seeded draws with the given probabilities.

    Depends only on (seed, epoch), so a resumed run sees the same order as an uninterrupted one."""
    rng = np.random.default_rng([seed, epoch])
    if probabilities is None:
        return rng.permutation(n)
    return rng.choice(n, size=n, replace=True, p=probabilities)


# ---------------------------------------------------------------------------------------------------------------
# tokenisation and batches


@dataclass
class Encoded:
    input_ids: list[list[int]]
    labels: list[list[int]]
    prompt_lengths: list[int]  # causal: tokens of the prompt (generation starts after them)
    truncated: int = 0


def encode(
    examples: Examples, tokenizer: Any, task: str, max_source: int, max_target: int, train_on_prompt: bool = False
) -> Encoded:
    """Tokenise in two batch calls. Seq2seq: input and labels as the tokenizer makes them (with its end token).
    Causal: prompt + target + eos in one sequence, labels masked on the prompt unless `train_on_prompt`."""
    sources, targets = examples.sources, examples.targets
    src = tokenizer(sources, truncation=True, max_length=max_source)["input_ids"]
    truncated = sum(len(s) >= max_source for s in src)  # at the limit: cut (or exactly that long)
    if task == "seq2seq":
        tgt = tokenizer(text_target=targets, truncation=True, max_length=max_target)["input_ids"]
        return Encoded(src, tgt, [len(s) for s in src], truncated)
    eos = tokenizer.eos_token_id
    tgt = tokenizer(targets, add_special_tokens=False, truncation=True, max_length=max(1, max_target - 1))["input_ids"]
    ids, labels = [], []
    for s, t in zip(src, tgt):
        seq = s + t + [eos]
        ids.append(seq)
        labels.append(seq.copy() if train_on_prompt else [IGNORE] * len(s) + t + [eos])
    return Encoded(ids, labels, [len(s) for s in src], truncated)


def pad(rows: list[list[int]], value: int, left: bool = False) -> np.ndarray:
    width = max((len(r) for r in rows), default=0)
    out = np.full((len(rows), width), value, dtype=np.int64)
    for i, r in enumerate(rows):
        if r:
            if left:
                out[i, width - len(r) :] = r
            else:
                out[i, : len(r)] = r
    return out


def collate(encoded: Encoded, indices: np.ndarray | list[int], pad_id: int, task: str) -> dict[str, np.ndarray]:
    """A padded batch (numpy; the loop moves it to the device). Padding in labels is IGNORE."""
    ids = [encoded.input_ids[i] for i in indices]
    labels = [encoded.labels[i] for i in indices]
    batch = {"input_ids": pad(ids, pad_id), "attention_mask": pad([[1] * len(r) for r in ids], 0)}
    batch["labels"] = pad(labels, IGNORE)
    return batch


def generation_batch(encoded: Encoded, indices: list[int], pad_id: int, task: str) -> dict[str, np.ndarray]:
    """Inputs for generation: the source (seq2seq) or the prompt left-padded (causal)."""
    if task == "seq2seq":
        ids = [encoded.input_ids[i] for i in indices]
        return {"input_ids": pad(ids, pad_id), "attention_mask": pad([[1] * len(r) for r in ids], 0)}
    ids = [encoded.input_ids[i][: encoded.prompt_lengths[i]] for i in indices]
    return {"input_ids": pad(ids, pad_id, left=True), "attention_mask": pad([[1] * len(r) for r in ids], 0, left=True)}


def length_sorted_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Batches of similar lengths (less padding) for evaluation; order is stable."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
