"""`review`: send a sample of rows to human reviewers (Argilla, or a JSONL/CSV file) and apply their answers.

A global step. `fit` chooses the rows (seeded, per language: see `curate.review.selection`), writes the review queue
to the step's work folder and pushes it to Argilla. With `wait: true` the run then stops (`ReviewPending`, exit code
3) and `curate run --resume` goes on: the engine keeps the stopped step's folder, `fit` runs again, finds the queue
and the push already done, pulls the answers and resolves them (majority vote). `apply` rejects rows reviewers
rejected (`review:rejected`), writes corrections into the field (the text before is kept in `<field>_before_review`,
so `curate trace` shows the change), marks accepted rows `_reviewed`, and treats unanswered rows as `pending` says.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl
from pydantic import Field, field_validator, model_validator

from curate.core.errors import CurateError
from curate.core.markdown import figures_table
from curate.core.rows import DETAIL, REASON
from curate.io.writers import write_json_atomic
from curate.review import ACCEPT, DEFAULT_LABELS, PENDING_REASON, REJECT, REJECTED, ReviewPending
from curate.review import records as rec
from curate.review import resolve as res
from curate.review.selection import Rule, Selector, check_take
from curate.review.state import ReviewStore
from curate.stages.base import CardSection, GlobalStep, StepConfig, StepResult
from curate.stages.registry import register

Take = int | float | None
PII_DTYPE = pl.List(pl.Struct({"kind": pl.String, "start": pl.Int64, "end": pl.Int64}))  # as the pii step writes it
SUMMARY = "review.json"  # left in OUT/: the selection, the answers' counts, the agreement
_TAKE_DOC = "a fraction (0.05; 1.0 = all) or a count (50) of the matching rows, per `by` group"


class ReviewConfig(StepConfig):
    sample: Take = Field(None, description=f"a random sample: {_TAKE_DOC}")
    by: str | None = Field(
        "text_lang",
        description="column whose values are groups (the language): counts and "
        "fractions apply per group; null: the whole stage is one group",
    )
    low_confidence: Take = Field(None, description=f"rows whose `confidence` is below `below`: {_TAKE_DOC}")
    confidence: str = Field("text_lang_score", description="score column for `low_confidence` (and for suggestions)")
    below: float = Field(0.8, ge=0, le=1, description="`low_confidence` threshold")
    synthetic: Take = Field(
        None, description=f"synthetic rows (`_synthetic`), shown beside their original: {_TAKE_DOC}"
    )
    pii: Take = Field(None, description=f"rows in which PII was found (`pii_column` not empty): {_TAKE_DOC}")
    pii_column: str = Field("text_pii", description="the PII tag column for `pii` (and for the `pii_left` suggestion)")
    where: dict[str, Any] | None = Field(
        None,
        description="rows meeting a condition written as in the `filter` "
        "step, plus an optional `take` (default 1.0), e.g. "
        "{column: text_quality_score, lt: 0.3, take: 20}",
    )
    fields: list[str] = Field(
        default_factory=lambda: ["text", "target"],
        min_length=1,
        description="columns reviewers read (the first is required; empty ones are left out)",
    )
    correct: list[str] = Field(
        default_factory=lambda: ["text"],
        description="fields reviewers may correct (a text "
        "question each, pre-filled with the text); a correction replaces the field",
    )
    metadata: list[str] = Field(
        default_factory=list,
        description="more columns shown as metadata for filtering, "
        "besides the language, source, origin, `why` (the rule) and `confidence`",
    )
    labels: list[str] = Field(
        default_factory=lambda: list(DEFAULT_LABELS), min_length=1, description="issue labels reviewers may tick"
    )
    guidelines: str | None = Field(None, description="your own text, added to the generated guidelines")
    dataset: str | None = Field(
        None,
        description="Argilla dataset name (default: `<recipe name>-review`; `<OUT folder>-review` "
        "where the step is not told the recipe)",
    )
    workspace: str | None = Field(None, description="Argilla workspace (default: the first one the key can see)")
    annotators: int = Field(1, ge=1, le=20, description="answers wanted per row (Argilla's task distribution)")
    push: bool = Field(
        True,
        description="push the queue to Argilla (ARGILLA_API_URL, ARGILLA_API_KEY); false: only "
        "write it, for `curate review push` or `curate review export` later",
    )
    wait: bool = Field(True, description="stop the run after pushing until `curate run --resume`; false: go on at once")
    pending: Literal["keep", "drop", "hold"] = Field(
        "keep",
        description="rows without an answer: keep them "
        "(unreviewed), drop them (`review:pending`), or hold the run "
        "(stop again until every row is answered)",
    )
    ties: Literal["reject", "accept", "pending"] = Field("reject", description="a tie between reviewers counts as")

    @field_validator("sample", "low_confidence", "synthetic", "pii")
    @classmethod
    def _take(cls, value: Take, info) -> Take:
        return None if value is None else check_take(value, info.field_name)

    @field_validator("where")
    @classmethod
    def _where(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        from curate.stages.filter import FilterConfig

        condition = {k: v for k, v in value.items() if k != "take"}
        if "reason" in condition:
            raise ValueError("`where` takes a condition and `take`, not `reason`")
        FilterConfig.model_validate(condition)  # the filter step's checks (keys, types, regular expressions)
        check_take(value.get("take", 1.0), "where.take")
        return value

    @model_validator(mode="after")
    def _something(self) -> ReviewConfig:
        if not any(x is not None for x in (self.sample, self.low_confidence, self.synthetic, self.pii, self.where)):
            raise ValueError("choose rows to review: give sample, low_confidence, synthetic, pii or where")
        unknown = [f for f in self.correct if f not in self.fields]
        if unknown:
            raise ValueError(
                f"`correct` names {', '.join(unknown)}, which is not among `fields` ({', '.join(self.fields)})"
            )
        if self.pending == "hold" and not self.wait:
            raise ValueError(
                "`pending: hold` stops the run until every row is answered, which `wait: false` forbids; "
                "use keep or drop"
            )
        return self


@dataclass
class ReviewState:
    decisions: pl.DataFrame  # _id, _decision, _detail, corrected_<field>...
    pending: str
    correct: list[str]
    counts: dict[str, int] = field(default_factory=dict)


@register("review")
class Review(GlobalStep):
    """Send rows to human review (Argilla or a JSONL/CSV queue) and apply the answers: reject, correct, accept."""

    Config = ReviewConfig
    config: ReviewConfig
    state_type = ReviewState
    version = "1"

    # columns ----------------------------------------------------------------------------------------------------
    def requires(self) -> list[str]:
        c, set_ = self.config, self.config.model_fields_set
        needed = [c.fields[0]]
        if c.by and "by" in set_:
            needed.append(c.by)
        if c.low_confidence is not None:
            needed.append(c.confidence)
        if c.pii is not None:
            needed.append(c.pii_column)
        if c.where is not None:
            needed.append(c.where["column"])
        return list(dict.fromkeys(needed + c.metadata))

    def produces(self) -> list[str]:
        return ["_reviewed", *self.adds_text()]

    def adds_text(self) -> list[str]:
        return [f"{f}_before_review" for f in self.config.correct]

    def _lang_flag(self) -> str:
        return f"{self.config.fields[0]}_lang_flag"

    def _metadata_columns(self) -> list[str]:
        c = self.config
        return list(dict.fromkeys([*([c.by] if c.by else []), "_source", "_origin", "_why", c.confidence, *c.metadata]))

    def fit_columns(self) -> list[str]:
        c = self.config
        columns = [
            "_id",
            "_synthetic",
            "_parent_id",
            *c.fields,
            *self._metadata_columns(),
            c.pii_column,
            self._lang_flag(),
        ]
        if c.where is not None:
            columns.append(c.where["column"])
        return [x for x in dict.fromkeys(columns) if x != "_why"]

    # describing itself -------------------------------------------------------------------------------------------
    @classmethod
    def card_sections(cls, steps: list[dict[str, Any]]) -> list[CardSection]:
        return [
            CardSection(
                "Human review",
                "Outcomes of the review in Argilla.\n\n" + figures_table(steps),
                steps[0]["index"],
                "review",
            )
        ]

    @classmethod
    def artifacts(cls, params: dict[str, Any]) -> dict[str, str]:
        return {SUMMARY: "what was chosen for review, how many rows are answered, the reviewers' agreement"}

    def run_notes(self) -> list[str]:
        """Rows of the review queue still without an answer, and how to get them answered: a run with `wait: false`
        finishes, so a queue nobody saw is easy to miss."""
        path = self.context.output_dir / SUMMARY if self.context.output_dir else None
        if path is None or not path.exists():
            return []
        review = json.loads(path.read_text(encoding="utf-8"))
        waiting, queued = review.get("pending", 0), review.get("queued", 0)
        if not waiting:
            return []
        out = self._out()
        kept = {"keep": "kept unreviewed", "drop": "rejected as `review:pending`"}.get(review.get("on_pending"), "")
        how = (
            f"answer them in Argilla (`curate review status {out}`)"
            if review.get("push")
            else f"`curate review export {out} review.csv`, fill in `decision` (and corrections), `curate review import "
            f"{out} review.csv`; or send them to Argilla with `curate review push {out}`"
        )
        return [
            f"{waiting:,} of {queued:,} rows queued for review have no answer yet"
            + (f" ({kept})" if kept else "")
            + f"; to review them: {how}; then `{self.context.resume_command}` applies the answers"
        ]

    # the run ----------------------------------------------------------------------------------------------------
    def _store(self) -> ReviewStore:
        if self.context.workdir is None:
            raise CurateError("internal error: the review step needs a work folder")
        return ReviewStore(self.context.workdir)

    def setup(self) -> None:
        """Fail before any work when the server will be needed and can't be (no SDK, no URL or key)."""
        if self.context.workdir is None:
            return
        store = self._store()
        if self.config.push or store.pushed:
            from curate.review.argilla_client import require_sdk, settings_from_env

            require_sdk()
            settings_from_env()

    def fit(self, frames: Iterator[pl.DataFrame]) -> ReviewState:
        store = self._store()
        if not store.has_queue():
            self._select(frames, store)
        first_push = None
        if self.config.push and not store.pushed:
            from curate.review.argilla_client import connect, push

            first_push = push(connect(), store)
        if self.config.wait and not store.waited:
            store.mark_waited()
            raise ReviewPending(self._stop_message(store, first_push))
        if store.pushed:
            from curate.review.argilla_client import connect, fetch_answers

            store.save_answers(fetch_answers(connect(), store.spec()), replace_origin="argilla")
        return self._decide(store)

    def _decide(self, store: ReviewStore) -> ReviewState:
        spec, queue = store.spec(), store.queue()
        answers = store.answers()
        decisions = res.resolve(queue, answers, spec["correct"], self.config.ties)
        counts = res.counts(decisions, spec["correct"])
        if self.config.pending == "hold" and counts["pending"]:
            raise ReviewPending(
                f"review: {counts['pending']} of {queue.height} rows still wait for an answer (`pending: hold`); "
                f"see `curate review status {self._out()}`, then run `{self.context.resume_command}` again"
            )
        summary = {
            "dataset": spec["dataset"],
            "push": store.push_state(),
            "selection": spec["selection"],
            "queued": queue.height,
            **counts,
            "on_pending": self.config.pending,
            "agreement": res.agreement(decisions, answers),
        }
        write_json_atomic(self.context.artifact(SUMMARY), summary)
        store.mark_applied(store.answers_fingerprint())
        keep = [
            pl.col("_id"),
            pl.col("_decision"),
            pl.col("_detail").alias("_review_detail"),
            *[pl.col(f"corrected_{f}") for f in spec["correct"]],
        ]
        return ReviewState(decisions.select(keep), self.config.pending, list(spec["correct"]), counts)

    def _out(self) -> str:
        return str(self.context.output_dir) if self.context.output_dir else "OUT"

    def _stop_message(self, store: ReviewStore, pushed: dict | None) -> str:
        spec = store.spec()
        n = store.queue().height
        chosen = ", ".join(f"{k} {v}" for k, v in spec["selection"]["chosen"].items() if v)
        head = f"review: {n} rows chosen for review ({chosen or 'none matched'})"
        out = self._out()
        if pushed or store.pushed:
            state = store.push_state() or {}
            where = (
                f"Argilla dataset '{state.get('dataset')}' (workspace '{state.get('workspace')}') at {state.get('url')}"
            )
            return (
                f"{head} and pushed to {where}.\nThe run stops here until reviewers have answered; then:\n"
                f"  curate review status {out}     (how many rows are answered)\n"
                f"  {self.context.resume_command}     (pulls the answers, applies them, goes on)"
            )
        return (
            f"{head}; the queue was not pushed (`push: false`). Send it to reviewers with\n"
            f"  curate review push {out}                       (Argilla: ARGILLA_API_URL, ARGILLA_API_KEY)\n"
            f"  or curate review export {out} review.jsonl     (a file; fill in `decision`, then\n"
            f"     curate review import {out} review.jsonl)\n"
            f"then run `{self.context.resume_command}` to apply the answers."
        )

    # choosing rows ----------------------------------------------------------------------------------------------
    def _rules(self) -> list[Rule]:
        c = self.config
        rules = []
        if c.sample is not None:
            rules.append(Rule("sample", pl.lit(True), c.sample))
        if c.low_confidence is not None:
            rules.append(Rule("low_confidence", pl.col(c.confidence) < c.below, c.low_confidence))
        if c.synthetic is not None:
            rules.append(Rule("synthetic", pl.col("_synthetic"), c.synthetic))
        if c.pii is not None:
            rules.append(Rule("pii", pl.col(c.pii_column).list.len() > 0, c.pii))
        if c.where is not None:
            from curate.stages.filter import FilterConfig

            condition = FilterConfig.model_validate({k: v for k, v in c.where.items() if k != "take"})
            rules.append(Rule("where", pl.all_horizontal(condition.conditions()), c.where.get("take", 1.0)))
        return rules

    def _normalise(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Columns a batch lacks arrive as null strings: give them the types the rules expect."""
        c = self.config
        fixes = []
        if frame.schema.get("_synthetic") != pl.Boolean:
            fixes.append(pl.lit(False).alias("_synthetic"))
        if not isinstance(frame.schema.get(c.pii_column), pl.List):
            fixes.append(pl.lit(None, PII_DTYPE).alias(c.pii_column))
        if c.confidence in frame.columns and not frame.schema[c.confidence].is_numeric():
            fixes.append(pl.col(c.confidence).cast(pl.Float64, strict=False))
        return frame.with_columns(fixes) if fixes else frame

    def _select(self, frames: Iterator[pl.DataFrame], store: ReviewStore) -> None:
        c = self.config
        rules = self._rules()
        selector = Selector(rules, c.by, self.context.seed, parent_field=c.fields[0])
        for frame in frames:
            selector.add(self._normalise(frame))
        queue = selector.result()
        if queue.height == 0:
            queue = queue.with_columns(
                [pl.lit(None, pl.String).alias(x) for x in self.fit_columns() if x not in queue.columns]
            )
        queue = rec.add_suggestions(
            queue,
            field=c.fields[0],
            confidence=c.confidence,
            below=c.below,
            lang_flag=self._lang_flag(),
            pii_column=c.pii_column,
            labels=c.labels,
        )
        takes = {r.name: r.take for r in rules}
        selection = {
            "rules": takes,
            "by": c.by,
            "seed": self.context.seed,
            "rows_seen": selector.rows_seen,
            "matched": dict(selector.matched),
            "chosen": dict(selector.chosen()),
        }
        recipe = getattr(self.context, "recipe", None)  # the resolved recipe, when the engine provides it
        spec_fields = [f for f in c.fields if f in queue.columns and queue[f].null_count() < max(queue.height, 1)]
        spec = rec.build_spec(
            dataset=c.dataset or self._default_dataset(),
            workspace=c.workspace,
            queue=queue,
            fields=c.fields,
            correct=c.correct,
            labels=c.labels,
            metadata=self._metadata_columns(),
            annotators=c.annotators,
            prefill=True,
            selection=selection,
            guidelines=rec.guidelines(
                spec_fields or c.fields[:1],
                [f for f in c.correct if f in spec_fields],
                c.labels,
                takes,
                c.by,
                recipe,
                c.guidelines,
            ),
        )
        spec.update(ties=c.ties, pending=c.pending)
        keep = [
            "_id",
            "_why",
            "_parent_id",
            "_parent_text",
            "_suggest_decision",
            "_suggest_score",
            "_suggest_issues",
            *c.fields,
            *self._metadata_columns(),
            c.pii_column,
        ]
        store.write_queue(queue.select([x for x in dict.fromkeys(keep) if x in queue.columns]), spec)

    def _default_dataset(self) -> str:
        """`<recipe name>-review` when the engine tells the step its recipe, else `<OUT folder>-review`."""
        recipe = getattr(self.context, "recipe", None)
        name = (recipe or {}).get("name") or (self.context.output_dir.name if self.context.output_dir else "curate")
        return f"{name}-review"

    # applying the answers ---------------------------------------------------------------------------------------
    def apply(self, batch: pl.DataFrame, state: ReviewState) -> StepResult:
        frame = batch.join(state.decisions, on="_id", how="left", maintain_order="left")
        decision = pl.col("_decision")
        reason = pl.when(decision == REJECT).then(pl.lit(REJECTED))
        if state.pending == "drop":
            reason = reason.when(decision == res.PENDING).then(pl.lit(PENDING_REASON))
        frame = frame.with_columns(reason.otherwise(pl.lit(None, pl.String)).alias(REASON))
        changed = pl.lit(False)
        for f in state.correct:
            fixed = f"corrected_{f}"
            if f not in frame.columns:
                frame = frame.drop(fixed)
                continue
            frame = frame.with_columns(
                pl.when(pl.col(fixed).is_not_null())
                .then(pl.col(f))
                .otherwise(pl.lit(None, pl.String))
                .alias(f"{f}_before_review"),
                pl.coalesce(pl.col(fixed), pl.col(f)).alias(f),
            ).drop(fixed)
            changed = changed | pl.col(f"{f}_before_review").is_not_null()
        frame = frame.with_columns((decision == ACCEPT).fill_null(False).alias("_reviewed"), changed.alias("_changed"))
        dropped = pl.col(REASON).is_not_null()
        kept = frame.filter(~dropped)
        rejected = frame.filter(dropped).with_columns(pl.col("_review_detail").alias(DETAIL))
        stats = {  # disjoint: a corrected row is not also counted as accepted
            "review:accepted": int((kept["_reviewed"] & ~kept["_changed"]).sum()),
            "review:corrected": int(kept["_changed"].sum()),
            "review:pending_kept": int((kept["_decision"] == res.PENDING).sum()),
        }
        helper = ["_decision", "_changed", "_review_detail"]
        return StepResult(
            kept=kept.drop([*helper, REASON]),
            rejected=rejected.drop(helper),
            stats={k: v for k, v in stats.items() if v},
        )
