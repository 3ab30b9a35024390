"""The local engine: sources -> steps -> shards, in batches, with resume and the accounting check.

Stage 0 reads the sources into parts; each step turns the parts of the stage before it into its own parts (kept rows)
and rejects; the output phase assigns splits, writes the shards and reject files, then the manifest and the card.
Every stage is cached in `OUT/.curate/` under a key of everything it depends on.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from curate import __version__
from curate.core.errors import CurateError, InputError
from curate.core.progress import Reporter, rows_through
from curate.core.rows import ADDED_COLUMNS, DETAIL, META_COLUMNS, REASON, STEP, added_counts, added_rows
from curate.io.readers import ReadOptions, open_reader, read_batches
from curate.io.writers import ShardWriter, parquet_rows, unified_schema, write_bytes_atomic, write_json_atomic
from curate.outputs.card import write_card
from curate.outputs.manifest import build_manifest, is_up_to_date, load_manifest
from curate.outputs.outdir import (
    WORK,
    claim,
    folder_bytes,
    human_bytes,
    is_own_output_file,
    remove_leftovers,
    space_problem,
)
from curate.outputs.summary import (
    card_languages,
    encoding_notes,
    input_encoding,
    languages_before,
    synthetic_by_origin,
    thin_splits_note,
    value_counts,
)
from curate.outputs.workdir import PartStats, StageDir, tidy, total
from curate.run.memory import release
from curate.run.privacy import Redaction
from curate.run.recipe import Recipe, Source, canonical_json
from curate.run.sources import InputFile, ResolvedSource, fingerprint
from curate.run.splits import LINK_COLUMNS, plan_splits, thin_splits
from curate.stages.base import GlobalStep, Step, StepConfig, StepContext, StepResult
from curate.stages.registry import get_step, step_notes

FIT_STATS = "fit_stats.json"


@dataclass
class RunOptions:
    out: Path | None = None
    resume: bool = False
    limit: int | None = None
    fresh: bool = False
    command: str = ""
    engine: str = "local"
    address: str | None = None  # Ray cluster address (default: RAY_ADDRESS, else a local cluster)
    workers: int | None = None


@dataclass
class StageReport:
    index: int
    name: str
    label: str
    totals: PartStats
    cached: bool


def _is_plain_name(path: Any) -> bool:
    """A file name in OUT itself (an artifact such as weights.json), as an earlier manifest lists it."""
    return isinstance(path, str) and bool(path) and path == Path(path).name and not path.startswith(".")


def _hash(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


class Run:
    def __init__(self, recipe: Recipe, sources: list[ResolvedSource], options: RunOptions, reporter: Reporter):
        self.recipe, self.sources, self.options, self.reporter = recipe, sources, options, reporter
        self.out = Path(options.out) if options.out else recipe.output_dir()
        self.work = self.out / WORK
        self.files: list[InputFile] = [f for s in sources for f in s.files]
        self.reports: list[StageReport] = []
        self.file_rows: Counter = Counter()
        self.file_stats: dict[str, Counter] = {}  # per input file: its encoding, records decoded on their own
        self.stale_artifacts: list[str] = []
        self.artifacts: dict[int, list[str]] = {}  # files each stage left in OUT/, by stage index
        self.summary: dict[str, Any] = {}  # languages before/after, synthetic rows per origin: for the card
        self.notes: list[str] = []  # about the run as a whole (a step's own are `Step.notes`): printed after it

    # planning ---------------------------------------------------------------------------------------------------
    def plan(self) -> list[StageDir]:
        model = self.recipe.model
        read_key = _hash(
            {
                "curate": __version__,
                "sources": [s.model_dump(mode="json") for s in model.sources],
                "files": [(f.source_index, f.key, f.sha256) for f in self.files],
                "limit": self.options.limit,
                "max_record_bytes": model.max_record_bytes,
                "on_bad_input": model.on_bad_input,
                "engine": model.engine.model_dump(),
            }
        )
        stages = [StageDir(0, "read", read_key, self.work)]
        key = read_key
        for spec in self.recipe.steps:
            cls = get_step(spec.name)
            key = _hash({"previous": key, "step": spec.resolved(), "version": cls.version, "seed": model.seed})
            stages.append(StageDir(spec.index + 1, spec.name, key, self.work))
        return stages

    def run_key(self, stages: list[StageDir]) -> str:
        return _hash(
            {"last": stages[-1].key, "output": self.recipe.model.output.model_dump(mode="json"), "curate": __version__}
        )

    # running ----------------------------------------------------------------------------------------------------
    def execute(self) -> dict[str, Any]:
        with claim(self.out, self.options.command):
            try:
                return self._execute()
            except Exception as exc:
                reason = space_problem(exc)
                if reason is None:
                    raise
                raise CurateError(self._space_message(reason)) from None

    def _space_message(self, reason: str) -> str:
        """What a full disk stopped, and how much room the run needs: each stage keeps the rows it passes on (about
        the size of the read stage, or of the inputs before that is done) and the output holds them once more."""
        stages = self.plan()
        per_stage = folder_bytes(stages[0].path) if stages[0].is_complete() else sum(f.bytes for f in self.files)
        return (
            f"writing to {self.out} failed: {reason}. {human_bytes(shutil.disk_usage(self.out).free)} are free "
            f"there; this run has written {human_bytes(folder_bytes(self.out))} and needs about "
            f"{human_bytes(per_stage * (len(stages) + 1))} in all ({len(stages)} stages of about "
            f"{human_bytes(per_stage)}, and the output). Free some space or choose another output folder, then "
            "run the same command with --resume: the work done so far is kept"
        )

    def _execute(self) -> dict[str, Any]:
        started = time.time()
        fingerprint(self.files)
        stages = self.plan()
        run_key = self.run_key(stages)
        previous = load_manifest(self.out)
        if previous is not None and not self.options.fresh and is_up_to_date(previous, self.out, run_key):
            self.reporter.info(f"nothing to do: {self.out} is up to date with this recipe and its inputs")
            previous["_noop"] = True
            return previous
        if previous is not None:
            self.stale_artifacts = [o["path"] for o in previous.get("outputs", []) if _is_plain_name(o.get("path"))]
        (self.out / "manifest.json").unlink(missing_ok=True)
        remove_leftovers(self.out)
        if self.options.fresh and self.work.exists():
            shutil.rmtree(self.work)
        partial = [s for s in stages if s.path.exists() and not s.is_complete()]
        if partial:
            self.reporter.info(interrupted_message(self.work, stages, partial, self.options.resume))
        tidy(self.work, stages, keep_partial=self.options.resume)
        self.redaction = Redaction(self.recipe.steps, stages, self.make_step)
        self.redaction.forget_removed_if_needed()

        parts = self.read_stage(stages[0])
        self.notes += encoding_notes(self.input_encodings())
        for previous_stage, stage, spec in zip(stages, stages[1:], self.recipe.steps):
            parts = self.step_stage(stage, spec, previous_stage, parts)
        outputs, accounting = self.write_outputs(stages, parts)
        manifest = build_manifest(self, stages, run_key, outputs, accounting, started)
        write_card(self.out, manifest, self.recipe.text)
        write_json_atomic(self.out / "manifest.json", manifest)  # last: marks the run finished
        self.tidy_work(parts)
        return manifest

    def tidy_work(self, parts: list[str]) -> None:
        """What stays in OUT/.curate after a successful run (`output.keep_work`; see curate.run.privacy)."""
        keep = self.recipe.model.output.keep_work
        if keep is False:
            shutil.rmtree(self.work, ignore_errors=True)
        elif keep == "auto":
            self.redaction.remove_raw(parts)
            for folder in self.redaction.raw_state():
                self.reporter.warn(
                    f"{folder} holds rows from before the pii step, unscrubbed (a step before `pii` "
                    "keeps them, e.g. a review queue); put `pii` first to keep raw data out of it"
                )
        elif raw := self.redaction.raw_kept():
            self.reporter.warn(
                f"{self.work} holds raw, unscrubbed rows of {len(raw)} stage(s) before the pii step "
                "(output.keep_work: true); delete it, or set keep_work: auto to keep only scrubbed caches"
            )

    def read_stage(self, stage: StageDir) -> list[str]:
        if stage.is_complete():
            parts = stage.parts()
            self._report(stage, "read", parts, cached=True)
            return parts
        stage.path.mkdir(parents=True, exist_ok=True)
        parts: list[str] = []
        with self.reporter.stage("read", len(self.files)) as progress:
            for _, part, stats in self.read_parts(self.read_jobs(stage)):
                parts.append(part)
                progress.advance(stats.rows_in, stats.rows_out, stats.rejected)
        stage.complete(parts)
        self._report(stage, "read", parts, cached=False)
        return parts

    def read_parts(self, jobs: list[ReadJob]) -> Iterator[tuple[ReadJob, str, PartStats]]:
        """Read the files in order into parts, stopping after `--limit` records."""
        remaining = self.options.limit
        for job in jobs:
            for part, stats in read_file(job, remaining):
                if remaining is not None:
                    remaining -= stats.rows_in
                yield job, part, stats

    def read_jobs(self, stage: StageDir) -> list[ReadJob]:
        model = self.recipe.model
        options = ReadOptions(model.engine.batch_rows, model.engine.batch_bytes, model.max_record_bytes)
        return [
            ReadJob(f, self.sources_by_index(f.source_index).source, options, stage, model.on_bad_input)
            for f in self.files
        ]

    def input_encodings(self) -> dict[str, dict[str, Any]]:
        """Per text input file: the encoding it was read with, how it was found, the records decoded on their own."""
        found = {}
        for f in self.files:
            declared = self.sources_by_index(f.source_index).source.encoding
            summary = input_encoding(self.file_stats.get(f.key, Counter()), declared)
            if summary is not None:
                found[f.key] = summary
        return found

    def sources_by_index(self, index: int) -> ResolvedSource:
        return next(s for s in self.sources if s.index == index)

    def make_step(self, spec, stage: StageDir) -> Step:
        context = StepContext(
            seed=self.recipe.model.seed,
            workdir=stage.path,
            recipe_dir=self.recipe.path.parent,
            index=spec.index,
            output_dir=self.out,
            recipe=self.recipe.resolved(),
            tags=self.tags_before(spec.index),
            resume_command=resume_command(self.options.command),
        )
        return get_step(spec.name)(spec.config, context)

    def tags_before(self, index: int) -> frozenset[str]:
        """Columns the steps before step `index` add as tags (`text_lang`, `dup_cluster`), not text."""
        steps = [get_step(s.name)(s.config) for s in self.recipe.steps[:index]]
        return frozenset(c for step in steps for c in step.produces() if c not in step.adds_text())

    def step_stage(self, stage: StageDir, spec, previous: StageDir, parts: list[str]) -> list[str]:
        label = f"{spec.index + 1}. {spec.name}"
        if stage.is_complete():
            self._report(stage, label, parts, cached=True)
            return parts
        stage.path.mkdir(parents=True, exist_ok=True)
        step = self.make_step(spec, stage)
        # Sources may differ in columns (one maps `text_lang`, another does not): a step gets the columns it needs
        # in every batch, null where a batch lacks them, typed as in the batches that have them.
        schema = unified_schema(pl.read_parquet_schema(previous.data(p)) for p in parts)
        job = PartJob(spec.name, spec.config, step.context, previous, stage, schema, step.requires())
        state = None
        if isinstance(step, GlobalStep):
            state = stage.load_state(step.state_type)
            if state is None:
                state = self.fit(step, job, parts)
                write_json_atomic(stage.path / FIT_STATS, step.fit_stats(state))
                stage.save_state(state)
        with self.reporter.stage(label, len(parts)) as progress:
            self.run_parts(step, state, job, [p for p in parts if not stage.is_done(p)])
            for part in parts:
                stats = stage.part_stats(part)
                progress.advance(stats.rows_in, stats.rows_out, stats.rejected, stats.added)
        stage.complete(parts)
        self._report(stage, label, parts, cached=False)
        return parts

    def fit(self, step: GlobalStep, job: PartJob, parts: list[str]) -> Any:
        step.setup()
        columns = step.fit_columns()

        def mapped() -> Iterator[Any]:
            for p in parts:
                yield step.fit_map(read_part(job.source.data(p), columns, job.schema, columns))
                release()

        return step.fit_reduce(mapped())

    def run_parts(self, step: Step, state: Any, job: PartJob, todo: list[str]) -> None:
        """Run a step on the parts not done yet; results and stats go to files (the Ray engine runs the same
        `run_part` on its workers)."""
        if todo:
            step.setup()
        for part in todo:
            run_part(step, state, job, part)

    def _report(self, stage: StageDir, label: str, parts: list[str], cached: bool) -> None:
        per_part = {p: stage.part_stats(p) for p in parts}
        totals = total(list(per_part.values()))
        if (stage.path / FIT_STATS).exists():
            totals.stats.update(json.loads((stage.path / FIT_STATS).read_text()))
        if cached:
            self.reporter.info(
                f"{label}: {rows_through(totals.rows_in, totals.added, totals.rows_out, totals.rejected)} (cached)"
            )
        if stage.index == 0:  # rows read per input file, for the manifest
            key_of = {part_prefix(f): f.key for f in self.files}
            for part, stats in per_part.items():
                key = key_of[part.rsplit("-", 1)[0]]
                self.file_rows[key] += stats.rows_in
                self.file_stats.setdefault(key, Counter()).update(stats.stats or {})
        if stage.index:
            params = self.recipe.steps[stage.index - 1].resolved()[stage.name]
            for note in step_notes(stage.name, params, totals.stats):
                self.reporter.warn(f"{label}: {note}")
        self.reports.append(StageReport(stage.index, stage.name, label, totals, cached))

    # output -----------------------------------------------------------------------------------------------------
    def write_outputs(self, stages: list[StageDir], parts: list[str]) -> tuple[list[dict], dict[str, Any]]:
        output = self.recipe.model.output
        last = stages[-1]
        data_dir, rejects_dir = self.out / "data", self.out / "rejects"
        files = [last.data(p) for p in parts]
        schema = unified_schema((pl.read_parquet_schema(f) for f in files), front=META_COLUMNS + ["text", "target"])
        split_names = list(output.splits)
        key_columns = [
            "_id",
            *[c for c in LINK_COLUMNS if c in schema],
            *[c for c in dict.fromkeys((output.stratify_by, output.split_by)) if c and c in schema],
        ]
        keys = (
            pl.concat([read_part(f, key_columns, schema, key_columns) for f in files], how="diagonal_relaxed")
            if files
            else pl.DataFrame(schema={"_id": pl.String})
        )
        plan = plan_splits(keys, output.splits, self.recipe.model.seed, output.stratify_by, output.split_by)
        counts = Counter({split_names[code]: n for code, n in plan["_split"].value_counts().iter_rows()})
        thin = thin_splits(keys, plan, split_names, output.stratify_by, output.min_originals)
        if thin:
            self.notes.append(thin_splits_note(thin, output.stratify_by, output.min_originals))
        del keys
        written: list[Path] = []
        writers = {
            name: ShardWriter(data_dir, name, schema, counts[name], output.max_rows_per_shard) for name in split_names
        }
        with self.reporter.stage("write", len(files)) as progress:
            for f in files:
                frame = pl.read_parquet(f).join(plan, on="_id", how="left", maintain_order="left")
                for i, name in enumerate(split_names):
                    rows = frame.filter(pl.col("_split") == i).drop("_split")
                    if rows.height:
                        writers[name].write(rows)
                progress.advance(frame.height, frame.height, 0)
        for writer in writers.values():
            written += writer.close()
        for stage in stages:
            reject_files = self.redaction.reject_files(stage, parts)  # every stage has the same part names
            if not reject_files:
                continue
            reject_schema = unified_schema(
                (pl.read_parquet_schema(p) for p in reject_files), front=META_COLUMNS + [STEP, REASON, DETAIL]
            )
            n = sum(parquet_rows(p) for p in reject_files)
            writer = ShardWriter(
                rejects_dir, f"{stage.index:02d}-{stage.name}", reject_schema, n, max(n, 1), single=True
            )
            for p in reject_files:
                writer.write(pl.read_parquet(p))
            written += writer.close()
        for folder in (data_dir, rejects_dir):  # files of an earlier run that this one did not write
            if folder.exists():
                for old in folder.glob("*.parquet"):
                    if old not in written and is_own_output_file(old):
                        old.unlink()
        written += self._copy_artifacts(stages)
        for spec, stage in zip(self.recipe.steps, stages[1:]):
            self.notes += self.make_step(spec, stage).run_notes()
        data_files = [p for p in written if p.parent == data_dir]
        reject_files = [p for p in written if p.parent == rejects_dir]
        self.summary = {
            "languages": value_counts(data_files, "text_lang"),
            "languages_before": languages_before(stages, parts),
            "synthetic": synthetic_by_origin(data_files, reject_files),
            "thin_splits": thin,
            "card_languages": card_languages(data_files, self.recipe.resolved()),
        }
        return self._describe_outputs(written), self._accounting(data_files + reject_files)

    def _copy_artifacts(self, stages: list[StageDir]) -> list[Path]:
        """Files steps left for OUT/ (class weights...), copied from their caches; stale ones of earlier runs go."""
        copied = []
        for stage in stages:
            for source in sorted((stage.path / "artifacts").glob("*")) if (stage.path / "artifacts").exists() else []:
                target = self.out / source.name
                write_bytes_atomic(target, source.read_bytes())
                copied.append(target)
                self.artifacts.setdefault(stage.index, []).append(source.name)
        for name in self.stale_artifacts:
            if self.out / name not in copied:
                (self.out / name).unlink(missing_ok=True)
        return copied

    def _describe_outputs(self, written: list[Path]) -> list[dict]:
        from curate.io.writers import file_sha256

        return [
            {
                "path": p.relative_to(self.out).as_posix(),
                "rows": parquet_rows(p) if p.suffix == ".parquet" else None,
                "bytes": p.stat().st_size,
                "sha256": file_sha256(p),
            }
            for p in sorted(written)
        ]

    def _accounting(self, written: list[Path]) -> dict[str, Any]:
        """Counted from the files written, not from the stats: the check must see what a user will load. Rows a
        step added are counted apart from the rows read, as synthetic rows or as copies (a copy of a synthetic row
        is a copy): `rows_out = curated_read + synthetic_out + repeats_out`, and the same for the rejects."""
        counts = Counter()
        for p in written:
            kind = "out" if p.parent.name == "data" else "rejected"
            counts[f"rows_{kind}"] += parquet_rows(p)
            columns = [c for c in ADDED_COLUMNS if c in pl.read_parquet_schema(p)]
            if columns:
                synthetic, copies = added_counts(pl.read_parquet(p, columns=columns))
                counts[f"synthetic_{kind}"] += synthetic
                counts[f"repeats_{kind}"] += copies
        for kind in ("out", "rejected"):
            counts[f"added_{kind}"] = counts[f"synthetic_{kind}"] + counts[f"repeats_{kind}"]
        rows_read = self.reports[0].totals.rows_in
        curated = counts["rows_out"] - counts["added_out"]
        rejected = counts["rows_rejected"] - counts["added_rejected"]
        ok = rows_read == curated + rejected
        if not ok:
            self.reporter.warn(
                f"accounting check failed: {rows_read} rows read, {curated} curated + {rejected} rejected"
            )
        keys = (
            "rows_out",
            "rows_rejected",
            "added_out",
            "added_rejected",
            "synthetic_out",
            "synthetic_rejected",
            "repeats_out",
            "repeats_rejected",
        )
        return {
            "rows_read": rows_read,
            "curated_read": curated,
            "rejected_read": rejected,
            **{k: counts[k] for k in keys},
            "ok": ok,
        }


@dataclass
class ReadJob:
    """Reading one input file into parts of the read stage (picklable, for Ray workers)."""

    file: InputFile
    source: Source
    options: ReadOptions
    stage: StageDir
    on_bad_input: str


def part_prefix(f: InputFile) -> str:
    """Parts of the read stage are named `{prefix}-c{chunk}`: sorted by name, they are in input order."""
    return f"s{f.source_index:03d}-f{f.file_index:04d}"


def read_file(job: ReadJob, limit: int | None = None) -> Iterator[tuple[str, PartStats]]:
    """Read one file into parts, skipping parts already done; yields (part, stats). With `limit`, stops after that
    many records."""
    f = job.file
    reader = open_reader(f.path, job.source, f.key, job.options, f.file_index)
    tick = time.perf_counter()  # parsing happens inside the reader: time from batch to batch
    for batch in read_batches(reader, f.key):
        if limit is not None and limit <= 0:
            return
        part = f"{part_prefix(f)}-c{batch.chunk:05d}"
        if job.stage.is_done(part):
            stats = job.stage.part_stats(part)
        else:
            rows, rejects = batch.rows, batch.rejects
            if limit is not None:
                rows, rejects = _first_rows(rows, rejects, limit)
            if rejects.height and job.on_bad_input == "fail":
                raise InputError(_bad_input_message(f, rejects))
            rejects = rejects.with_columns(pl.lit("read").alias(STEP))
            stats = PartStats(
                rows.height + rejects.height,
                rows.height,
                rejects.height,
                time.perf_counter() - tick,
                Counter(rejects[REASON].to_list()),
                Counter(batch.stats),
            )
            job.stage.write_part(part, rows, rejects, stats)
            release()
        if limit is not None:
            limit -= stats.rows_in
        yield part, stats
        tick = time.perf_counter()


@dataclass
class PartJob:
    """Everything a worker needs to run one step on parts of a stage (picklable, for Ray workers)."""

    step: str
    config: StepConfig
    context: StepContext
    source: StageDir
    target: StageDir
    schema: pl.Schema
    needed: list[str]

    def make_step(self) -> Step:
        return get_step(self.step)(self.config, self.context)


def read_part(path: Path, columns: list[str] | None, schema: pl.Schema, needed: list[str]) -> pl.DataFrame:
    present = pl.read_parquet_schema(path)
    frame = pl.read_parquet(path, columns=[c for c in columns if c in present] if columns else None)
    missing = [c for c in needed if c not in present]
    return frame.with_columns([pl.lit(None, schema.get(c, pl.String)).alias(c) for c in missing]) if missing else frame


def run_part(step: Step, state: Any, job: PartJob, part: str) -> PartStats:
    frame = read_part(job.source.data(part), None, job.schema, job.needed)
    started = time.perf_counter()
    result = step.apply(frame, state) if isinstance(step, GlobalStep) else step.process(frame)
    stats = check_result(job.step, frame, result, time.perf_counter() - started)
    job.target.write_part(part, result.kept, result.rejected.with_columns(pl.lit(job.step).alias(STEP)), stats)
    release()
    return stats


def check_result(name: str, frame: pl.DataFrame, result: StepResult, seconds: float) -> PartStats:
    """A step may keep or reject rows (and add synthetic ones), never lose them."""
    made = added_rows(result.kept) + added_rows(result.rejected) - added_rows(frame)
    if result.kept.height + result.rejected.height != frame.height + made:
        raise CurateError(
            f"internal error: step '{name}' returned {result.kept.height} kept and "
            f"{result.rejected.height} rejected rows for {frame.height} rows in"
        )
    if result.rejected.height and REASON not in result.rejected.columns:
        raise CurateError(f"internal error: step '{name}' rejected rows without a `{REASON}`")
    reasons = Counter(result.rejected[REASON].to_list()) if result.rejected.height else Counter()
    made_rejected = result.rejected.filter(~pl.col("_id").is_in(frame["_id"].implode())).height if made else 0
    return PartStats(
        frame.height,
        result.kept.height,
        result.rejected.height,
        seconds,
        reasons,
        Counter(result.stats),
        made,
        made_rejected,
    )


def _first_rows(rows: pl.DataFrame, rejects: pl.DataFrame, n: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The first `n` records of a batch by their position in the file, whether they became rows or rejects."""
    positions = sorted(rows["_row"].to_list() + rejects["_row"].to_list())
    if len(positions) <= n:
        return rows, rejects
    cut = positions[n - 1]
    return rows.filter(pl.col("_row") <= cut), rejects.filter(pl.col("_row") <= cut)


def _bad_input_message(f: InputFile, rejects: pl.DataFrame) -> str:
    first = rejects.sort("_row").row(0, named=True)
    unit = "line" if f.format in ("jsonl", "txt") else "record"
    return (
        f"{f.key}, {unit} {first['_row'] + 1}: {first[REASON]}: {first[DETAIL]} "
        "(the recipe says `on_bad_input: fail`; use `reject` to keep going and collect such records in rejects/)"
    )


def interrupted_message(work: Path, stages: list[StageDir], partial: list[StageDir], resume: bool) -> str:
    """What a run does with the work an interrupted one left: finished steps are always reused (their caches are
    keyed by everything they depend on); an unfinished step continues with --resume, else starts over."""
    done = [s.name for s in stages if s.is_complete()]
    reused = f"reusing the {len(done)} steps it finished ({', '.join(done)})" if done else "no step was finished"
    names = ", ".join(f"{s.index}. {s.name}" if s.index else s.name for s in partial)
    one = len(partial) == 1
    then = (
        f"{names} {'continues' if one else 'continue'} from the last finished batch"
        if resume
        else f"{names} {'starts' if one else 'start'} over (use --resume to continue from the last finished batch)"
    )
    return f"an interrupted run left work in {work}: {reused}; {then}"


def resume_command(command: str) -> str:
    """The command that goes on with a run (after a review, a kill): the one that started it, with --resume."""
    if not command:
        return "curate run RECIPE --resume"
    return command + ("" if "--resume" in command.split() else " --resume")
