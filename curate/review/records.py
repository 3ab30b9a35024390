"""What reviewers see: the dataset's spec (fields, questions, metadata, guidelines), the suggestions, the records.

The spec is plain JSON kept beside the queue (`spec.json`), so `curate review push|pull|export|import` rebuild the
same dataset without the recipe. Only `settings()` and `records()` import the Argilla SDK.
"""

from __future__ import annotations

import math
import re
from typing import Any

import polars as pl

from curate.review import ACCEPT, REJECT

DECISION, ISSUES, NOTE = "decision", "issues", "note"
AGENT = "curate"
EMPTY = "(empty)"  # a required field may not be empty in Argilla
LABEL_HELP = {
    "wrong_language": "the text is not (only) in the language shown as `language`",
    "pii_left": "personal data (a name with contact details, an e-mail, a phone or ID number...) is still readable",
    "bad_translation": "the target does not say what the text says, or the pair is not a translation",
    "offensive": "hateful, harassing or otherwise unfit for training",
    "other": "something else: say what in the note",
}
_RULE_TEXT = {
    "sample": "a random sample",
    "low_confidence": "rows whose language-ID confidence is low",
    "synthetic": "synthetic rows (the original they were made from is shown as *Original*)",
    "pii": "rows in which personal data was found",
    "where": "rows that meet a condition of the recipe",
}


def metadata_name(column: str) -> str:
    """Argilla names: lower case letters, digits, `_` and `-`, not starting with `_` (`_source` -> `source`)."""
    name = re.sub(r"[^a-z0-9_-]+", "_", column.lower()).strip("_")
    return name or "value"


def correction_question(field: str) -> str:
    return f"corrected_{field}"


def _metadata_kind(dtype: pl.DataType) -> str:
    if dtype.is_integer():
        return "integer"
    if dtype.is_float():
        return "float"
    return "terms"


def build_spec(
    *,
    dataset: str,
    workspace: str | None,
    queue: pl.DataFrame,
    fields: list[str],
    correct: list[str],
    labels: list[str],
    metadata: list[str],
    annotators: int,
    prefill: bool,
    guidelines: str,
    selection: dict[str, Any],
) -> dict[str, Any]:
    """The dataset as JSON. Fields and metadata that are empty in every queued row are left out."""
    present = (
        [c for c in queue.columns if queue[c].null_count() < queue.height] if queue.height else list(queue.columns)
    )
    shown = [f for f in fields if f in present]
    if not shown:
        shown = fields[:1]
    field_specs = [
        {"name": metadata_name(f), "column": f, "title": f.replace("_", " ").capitalize(), "required": i == 0}
        for i, f in enumerate(shown)
    ]
    if "_parent_text" in present:
        field_specs.append(
            {
                "name": "original",
                "column": "_parent_text",
                "title": "Original (this row is synthetic)",
                "required": False,
            }
        )
    meta_specs, seen = [], set()
    for column in metadata:
        name = metadata_name(column)
        if column in present and name not in seen and name not in {f["name"] for f in field_specs}:
            seen.add(name)
            meta_specs.append({"name": name, "column": column, "kind": _metadata_kind(queue.schema[column])})
    return {
        "dataset": dataset,
        "workspace": workspace,
        "fields": field_specs,
        "correct": [f for f in correct if f in shown],
        "labels": list(labels),
        "metadata": meta_specs,
        "annotators": annotators,
        "prefill": prefill,
        "guidelines": guidelines,
        "selection": selection,
    }


def guidelines(
    spec_fields: list[str],
    correct: list[str],
    labels: list[str],
    rules: dict[str, Any],
    by: str | None,
    recipe: dict[str, Any] | None,
    extra: str | None,
) -> str:
    """Markdown guidelines written from the recipe: why these rows, what each question means, what to look for."""
    lines = []
    if recipe:
        lines += [f"# Review of `{recipe.get('name', '')}`", ""]
        if recipe.get("description"):
            lines += [recipe["description"], ""]
        steps = [next(iter(s)) for s in recipe.get("steps", []) if isinstance(s, dict)]
        if steps:
            lines += [
                "The rows went through these steps before you see them: " + ", ".join(f"`{s}`" for s in steps) + ".",
                "",
            ]
    else:
        lines += ["# Review", ""]
    chosen = []
    for name, take in rules.items():
        amount = (
            f"{take} per {by}"
            if isinstance(take, int) and by
            else (f"{take}" if isinstance(take, int) else f"{take:.0%}")
        )
        chosen.append(f"- {_RULE_TEXT.get(name, name)} ({amount})")
    lines += [
        "These rows were chosen for a human check:",
        *chosen,
        "",
        "## For each row",
        "",
        "1. **Decision**: *accept* if the row is fit to train a model on, as it is or with your correction; "
        "*reject* if not.",
        "",
    ]
    n = 2
    if correct:
        names = ", ".join(f"*{f}*" for f in correct)
        lines += [
            f"{n}. **Corrected {'/'.join(correct)}** (optional): fix {names} in place. The box starts with the "
            "text as it stands; leave it as it is when nothing needs fixing. Your correction replaces the "
            "text in the dataset (the original is kept beside it).",
            "",
        ]
        n += 1
    lines += [f"{n}. **Issues** (optional, several allowed): what is wrong with the row.", ""]
    lines += [f"   - `{label}`: {LABEL_HELP.get(label, label.replace('_', ' '))}" for label in labels] + [""]
    lines += [
        f"{n + 1}. **Note** (optional): anything else a data engineer should know.",
        "",
        "Suggestions come from the pipeline's own scores (language-ID confidence, PII found): confirm them or "
        "change them; they are a starting point, not an answer.",
        "",
        "The metadata (language, source, `why` = the rule that chose the row, scores) can be used to filter "
        f"the rows. Fields shown: {', '.join(spec_fields)}.",
    ]
    if extra:
        lines += ["", "## From the dataset's maintainers", "", extra.strip()]
    return "\n".join(lines)[:10_000]


# suggestions from the pipeline's scores ------------------------------------------------------------------------------
def _pii_left(queue: pl.DataFrame, field: str, pii_column: str) -> pl.Series:
    """True where a PII span of `field` still holds the text itself, not a mask like `<EMAIL>`."""
    dtype = queue.schema.get(pii_column)
    if not isinstance(dtype, pl.List) or not isinstance(dtype.inner, pl.Struct) or field not in queue.columns:
        return pl.Series("_pii_left", [False] * queue.height)
    spans = (
        queue.select(pl.int_range(pl.len()).alias("_i"), pl.col(field), pl.col(pii_column).alias("_span"))
        .explode("_span")
        .filter(pl.col("_span").is_not_null())
        .unnest("_span")
    )
    if spans.height == 0:
        return pl.Series("_pii_left", [False] * queue.height)
    spans = spans.with_columns(
        pl.col(field).str.slice(pl.col("start"), pl.col("end") - pl.col("start")).alias("_piece")
    ).with_columns((~pl.col("_piece").str.contains(r"^[<\[][^<>\[\]]+[>\]]$")).alias("_left"))
    left = spans.group_by("_i").agg(pl.col("_left").any())
    out = pl.DataFrame({"_i": range(queue.height)}).join(left, on="_i", how="left", maintain_order="left")
    return out["_left"].fill_null(False).alias("_pii_left")


def add_suggestions(
    queue: pl.DataFrame,
    *,
    field: str,
    confidence: str | None,
    below: float,
    lang_flag: str | None,
    pii_column: str | None,
    labels: list[str],
) -> pl.DataFrame:
    """`_suggest_issues` (labels), `_suggest_decision` and `_suggest_score` per row, from columns the pipeline wrote:
    a language-ID flag or a low score suggests `wrong_language`, readable PII suggests `pii_left`; any issue
    suggests `reject`, none `accept`. The score is the language-ID confidence (or its complement for a reject)."""
    score = (
        pl.col(confidence).cast(pl.Float64, strict=False)
        if confidence and confidence in queue.columns
        else pl.lit(None, pl.Float64)
    )
    wrong = pl.lit(False)
    if lang_flag and lang_flag in queue.columns:
        wrong = wrong | pl.col(lang_flag).is_not_null()
    if confidence and confidence in queue.columns:
        wrong = wrong | (score < below).fill_null(False)
    frame = queue.with_columns(_pii_left(queue, field, pii_column or ""), wrong.alias("_wrong_language"))
    issues = []
    if "wrong_language" in labels:
        issues.append(pl.when(pl.col("_wrong_language")).then(pl.lit("wrong_language")))
    if "pii_left" in labels:
        issues.append(pl.when(pl.col("_pii_left")).then(pl.lit("pii_left")))
    suggested = pl.concat_list(issues).list.drop_nulls() if issues else pl.lit([], pl.List(pl.String))
    frame = frame.with_columns(suggested.alias("_suggest_issues"))
    reject = pl.col("_suggest_issues").list.len() > 0
    return frame.with_columns(
        pl.when(reject).then(pl.lit(REJECT)).otherwise(pl.lit(ACCEPT)).alias("_suggest_decision"),
        pl.when(reject & pl.col("_wrong_language")).then(1 - score).otherwise(score).clip(0, 1).alias("_suggest_score"),
    ).drop(["_pii_left", "_wrong_language"])


# the Argilla side ---------------------------------------------------------------------------------------------------
def settings(spec: dict[str, Any], client: Any):
    """The Argilla dataset settings for a spec (the SDK wants a client even to describe them)."""
    import argilla as rg

    fields = [
        rg.TextField(name=f["name"], title=f["title"], required=f["required"], client=client) for f in spec["fields"]
    ]
    kinds = {
        "terms": rg.TermsMetadataProperty,
        "float": rg.FloatMetadataProperty,
        "integer": rg.IntegerMetadataProperty,
    }
    metadata = [kinds[m["kind"]](name=m["name"], client=client) for m in spec["metadata"]]
    return rg.Settings(
        fields=fields,
        questions=_questions(spec, client),
        metadata=metadata,
        guidelines=spec["guidelines"],
        distribution=rg.TaskDistribution(min_submitted=spec["annotators"]),
    )


def _questions(spec: dict[str, Any], client: Any) -> list:
    import argilla as rg

    from curate.review import ratings

    if ratings.is_ratings(spec):
        return ratings.questions(spec, client)
    questions = [
        rg.LabelQuestion(
            name=DECISION,
            title="Keep this row?",
            labels={ACCEPT: "Accept", REJECT: "Reject"},
            required=True,
            client=client,
        )
    ]
    for f in spec["correct"]:
        questions.append(
            rg.TextQuestion(
                name=correction_question(f), title=f"Corrected {f} (optional)", required=False, client=client
            )
        )
    questions.append(
        rg.MultiLabelQuestion(
            name=ISSUES, title="Issues (optional)", labels=spec["labels"], required=False, client=client
        )
    )
    questions.append(rg.TextQuestion(name=NOTE, title="Note (optional)", required=False, client=client))
    return questions


def question_names(spec: dict[str, Any]) -> list[str]:
    from curate.review import ratings

    if ratings.is_ratings(spec):
        return ratings.question_names(spec)
    return [DECISION, *[correction_question(f) for f in spec["correct"]], ISSUES, NOTE]


def answer_values(value: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """One response's answers as the answers table holds them (`value(question)` reads one)."""
    from curate.review import ratings

    if ratings.is_ratings(spec):
        return ratings.answer_values(value, spec)
    issues = value(ISSUES)
    return {
        "decision": value(DECISION),
        "issues": [str(i) for i in issues] if isinstance(issues, list) else [],
        "note": value(NOTE),
        **{f"corrected_{f}": value(correction_question(f)) for f in spec["correct"]},
    }


def answer_schema(spec: dict[str, Any]) -> dict[str, Any]:
    from curate.review import ratings
    from curate.review.state import ANSWER_SCHEMA

    if ratings.is_ratings(spec):
        return dict(ratings.RATING_SCHEMA)
    return {**ANSWER_SCHEMA, **{f"corrected_{f}": pl.String for f in spec["correct"]}}


def _metadata_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "terms":
        if isinstance(value, list):
            values = [str(v) for v in value if v is not None]
            return values or None
        return str(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def record_dicts(queue: pl.DataFrame, spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Plain dicts (id, fields, metadata, suggestions) for a slice of the queue; `records` makes SDK objects."""
    out = []
    columns = set(queue.columns)
    for row in queue.iter_rows(named=True):
        fields = {}
        for f in spec["fields"]:
            value = row.get(f["column"])
            text = "" if value is None else str(value)
            if text.strip():
                fields[f["name"]] = text
            elif f["required"]:
                fields[f["name"]] = EMPTY
        metadata = {}
        for m in spec["metadata"]:
            value = _metadata_value(row.get(m["column"]), m["kind"])
            if value is not None:
                metadata[m["name"]] = value
        suggestions = []
        if "_suggest_decision" in columns and row["_suggest_decision"]:
            suggestions.append(
                {"question": DECISION, "value": row["_suggest_decision"], "score": row.get("_suggest_score")}
            )
        if row.get("_suggest_rating") is not None:
            suggestions.append({"question": "rating", "value": int(row["_suggest_rating"]), "score": None})
        if "_suggest_issues" in columns and row["_suggest_issues"]:
            suggestions.append({"question": ISSUES, "value": list(row["_suggest_issues"]), "score": None})
        if spec.get("prefill"):
            for f in spec["correct"]:
                value = row.get(f)
                if value is not None and str(value).strip():
                    suggestions.append({"question": correction_question(f), "value": str(value), "score": None})
        out.append({"id": row["_id"], "fields": fields, "metadata": metadata, "suggestions": suggestions})
    return out


def records(queue: pl.DataFrame, spec: dict[str, Any]) -> list:
    import argilla as rg

    made = []
    for r in record_dicts(queue, spec):
        suggestions = [
            rg.Suggestion(s["question"], s["value"], score=s["score"], agent=AGENT) for s in r["suggestions"]
        ]
        made.append(rg.Record(id=r["id"], fields=r["fields"], metadata=r["metadata"], suggestions=suggestions))
    return made
