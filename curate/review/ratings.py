"""Native speakers rate a fine-tuned model's outputs through the review loop, and their scores meet the judge's.

`curate eval --rate N` queues N outputs per language (a seeded bottom-k sample, as the data review chooses rows) in
`DIR/ratings/`, with the source, the output, the reference and the LLM judge's score as a suggestion. The same
commands as for data review move them: `curate review push DIR` / `pull DIR`, or `export DIR FILE` / `import DIR
FILE` without a server. Each rater gives a score from 1 to 5 with the judge's rubric. The report gives per language
the human mean, the judge's mean on the same outputs, their rank correlations (Spearman, Kendall) and the share of
outputs the judge rates higher than the humans do: judges are known to be kind to weak outputs.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import polars as pl

from curate.core.errors import MissingDependencyError
from curate.io.writers import write_json_atomic, write_text_atomic
from curate.review import records as rec
from curate.review.selection import row_hash
from curate.review.state import ReviewStore

KIND = "ratings"
FOLDER = "ratings"
RATING, NOTE = "rating", "note"
SCALE = (1, 2, 3, 4, 5)
RATING_SCHEMA = {
    "_id": pl.String,
    "annotator": pl.String,
    "origin": pl.String,
    "status": pl.String,
    RATING: pl.Int64,
    NOTE: pl.String,
}
GUIDELINES = """# Rating the outputs of `{name}`

Each record is a text the fine-tuned model wrote in the language shown as `language`, with the source it was given
and, when there is one, a reference written by a person.

Give one **rating** from 1 to 5:

- **5**: says everything the source says, as a native speaker would write it, in the right language
- **4**: small slips in wording or a detail missing; nothing misleading
- **3**: the gist is there, but with errors a reader notices
- **2**: only parts are right, or it is hard to read
- **1**: wrong, unreadable, or not in the right language

Judge the output against the source; the reference is one good answer among many, not the only one. The
suggestion, where there is one, is an LLM judge's score: it is what we are checking, so give your own rating.
Use the **note** for anything a model developer should know."""


def is_ratings(spec: dict[str, Any]) -> bool:
    return spec.get("kind") == KIND


def store_for(folder: Path) -> ReviewStore | None:
    """The ratings queue of a `curate train` output folder, if `curate eval --rate` wrote one."""
    store = ReviewStore(Path(folder), folder=FOLDER)
    return store if (store.path / "spec.json").is_file() else None


# the queue -------------------------------------------------------------------------------------------------------------
def _judge_scores(judged: list[dict[str, Any]]) -> pl.DataFrame:
    rows = [
        {"set": r["set"], "row_id": str(r["_id"]), "judge_score": r["score"]} for r in judged if r["model"] == "tuned"
    ]
    schema = {"set": pl.String, "row_id": pl.String, "judge_score": pl.Float64}
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)


def sample_outputs(
    rows: list[dict[str, Any]], judged: list[dict[str, Any]], per_language: int, seed: int
) -> pl.DataFrame:
    """`per_language` outputs of each language (the smallest seeded hashes of their ids: the same on every run),
    preferring those the judge scored, so that every rating can be compared with the judge."""
    frame = (
        pl.DataFrame(rows)
        .select(
            pl.col("set"),
            pl.col("_id").cast(pl.String).alias("row_id"),
            pl.col("lang"),
            pl.col("input").alias("source"),
            pl.col("output"),
            pl.col("reference"),
        )
        .join(_judge_scores(judged), on=["set", "row_id"], how="left")
    )
    frame = frame.with_columns((pl.col("set") + pl.lit("|") + pl.col("row_id")).alias("_key"))
    frame = frame.with_columns(row_hash(frame["_key"], seed).alias("_hash"))
    frame = frame.sort(["lang", pl.col("judge_score").is_null(), "_hash"])
    frame = frame.group_by("lang", maintain_order=True).head(per_language)
    ids = [f"{h:016x}" for h in row_hash(frame["_key"], seed ^ 0x5EED).to_list()]  # record ids: short, stable, unique
    suggest = pl.col("judge_score").round(0).cast(pl.Int64).clip(1, 5)
    return frame.with_columns(pl.Series("_id", ids), suggest.alias("_suggest_rating")).drop("_key", "_hash")


def build_spec(queue: pl.DataFrame, name: str, rows_seen: int) -> dict[str, Any]:
    most = int(queue.group_by("lang").len()["len"].max() or 0)
    spec = rec.build_spec(
        dataset=f"{name}-ratings",
        workspace=None,
        queue=queue,
        fields=["source", "output", "reference"],
        correct=[],
        labels=[],
        metadata=["lang", "set", "judge_score"],
        annotators=1,
        prefill=False,
        guidelines=GUIDELINES.format(name=name),
        selection={"rows_seen": rows_seen, "chosen": {"per language": most}},
    )
    return {**spec, "kind": KIND}


def write_rating_queue(
    dest: Path, rows: list[dict[str, Any]], judged: list[dict[str, Any]], per_language: int, name: str, seed: int
) -> int:
    """Queue a sample of outputs for rating in `dest/ratings/`; answers already given to the same outputs stay."""
    queue = sample_outputs(rows, judged, per_language, seed)
    store = ReviewStore(Path(dest), folder=FOLDER)
    store.write_queue(queue, build_spec(queue, name, len(rows)))
    return queue.height


# the Argilla side --------------------------------------------------------------------------------------------------------
def questions(spec: dict[str, Any], client: Any) -> list:
    import argilla as rg

    return [
        rg.RatingQuestion(name=RATING, title="Rating (1-5)", values=list(SCALE), required=True, client=client),
        rg.TextQuestion(name=NOTE, title="Note (optional)", required=False, client=client),
    ]


def question_names(spec: dict[str, Any]) -> list[str]:
    return [RATING, NOTE]


def answer_values(value: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """One response's answers (`value(question)` reads them)."""
    rating = value(RATING)
    return {RATING: int(rating) if rating is not None else None, NOTE: value(NOTE)}


# files (no server) -------------------------------------------------------------------------------------------------------
def queue_rows(queue: pl.DataFrame, spec: dict[str, Any]) -> list[dict[str, Any]]:
    columns = ["_id", "set", "lang", "source", "output", "reference", "judge_score"]
    return [
        {**{c: row.get(c) for c in columns}, RATING: None, NOTE: None, "annotator": None}
        for row in queue.iter_rows(named=True)
    ]


def parse_answer(
    record: dict[str, Any], where: str, spec: dict[str, Any], ids: set[str], annotator: str | None
) -> dict[str, Any] | str | None:
    """An answer row, an error message, or None (no rating: not answered)."""
    raw = record.get(RATING)
    text = "" if raw is None else str(raw).strip()
    if not text:
        return None
    row_id = str(record.get("_id") or "").strip()
    if row_id not in ids:
        return f"{where}: `_id` {row_id!r} is not in the ratings queue"
    try:
        rating = float(text)
    except ValueError:
        rating = math.nan
    if rating not in SCALE:
        return f"{where}: rating {text!r} must be a whole number from 1 to 5 (or empty: not rated)"
    note = str(record.get(NOTE) or "").strip() or None
    who = str(record.get("annotator") or "").strip() or annotator or "file"
    return {"_id": row_id, "annotator": who, "origin": "file", "status": "submitted", RATING: int(rating), NOTE: note}


# the report -------------------------------------------------------------------------------------------------------------
def submitted(answers: pl.DataFrame) -> pl.DataFrame:
    """Ratings given (not drafts, not skipped records)."""
    return answers.filter((pl.col("status") == "submitted") & pl.col(RATING).is_not_null())


def human_scores(answers: pl.DataFrame) -> pl.DataFrame:
    """Per output: the mean of its submitted ratings and how many raters gave one."""
    return submitted(answers).group_by("_id").agg(pl.col(RATING).mean().alias("human"), pl.len().alias("raters"))


def _correlations(judge: list[float], human: list[float]) -> tuple[float | None, float | None]:
    """Spearman's rho and Kendall's tau-b; None where they are undefined (fewer than 2 pairs, a constant side)."""
    try:
        from scipy.stats import kendalltau, spearmanr
    except ImportError:
        raise MissingDependencyError("judge-human agreement of ratings", "scipy", "review") from None

    if len(judge) < 2 or len(set(judge)) < 2 or len(set(human)) < 2:
        return None, None
    rho, tau = spearmanr(judge, human).statistic, kendalltau(judge, human).statistic
    clean = lambda v: None if v is None or math.isnan(v) else round(float(v), 4)  # noqa: E731
    return clean(rho), clean(tau)


def _group(lang: str, queued: int, part: pl.DataFrame) -> dict[str, Any]:
    paired = part.filter(pl.col("judge_score").is_not_null())
    judge, human = paired["judge_score"].to_list(), paired["human"].to_list()
    rho, tau = _correlations(judge, human)
    mean = lambda s: round(float(s.mean()), 3) if s.len() else None  # noqa: E731
    higher = sum(j > h for j, h in zip(judge, human))
    return {
        "lang": lang,
        "queued": queued,
        "rated": part.height,
        "ratings": int(part["raters"].sum()),
        "human": mean(part["human"]),
        "judge": mean(paired["judge_score"]),
        "paired": paired.height,
        "spearman": rho,
        "kendall": tau,
        "judge_higher": round(higher / len(judge), 4) if judge else None,
    }


def report(queue: pl.DataFrame, answers: pl.DataFrame) -> dict[str, Any]:
    """Per language and over all: human mean, judge mean on the rated outputs, Spearman, Kendall, judge higher."""
    rated = queue.join(human_scores(answers), on="_id", how="inner")
    counts = dict(queue.group_by("lang").len().iter_rows())
    languages = [_group(lang, counts[lang], rated.filter(pl.col("lang") == lang)) for lang in sorted(counts)]
    return {
        "languages": languages,
        "overall": _group("all", queue.height, rated),
        "raters": sorted(submitted(answers)["annotator"].unique().to_list()),
    }


REPORT_HEAD = ["language", "queued", "rated", "human", "judge", "Spearman", "Kendall", "judge higher"]


def report_rows(found: dict[str, Any]) -> list[list[str]]:
    def number(value: Any, digits: int = 2, share: bool = False) -> str:
        return "—" if value is None else (f"{value:.0%}" if share else f"{value:.{digits}f}")

    return [
        [
            g["lang"],
            str(g["queued"]),
            str(g["rated"]),
            number(g["human"]),
            number(g["judge"]),
            number(g["spearman"]),
            number(g["kendall"]),
            number(g["judge_higher"], share=True),
        ]
        for g in [*found["languages"], found["overall"]]
    ]


def markdown_report(found: dict[str, Any]) -> str:
    from curate.core.markdown import table

    text = (
        "Native speakers' ratings (1-5, the mean of each output's raters) beside the LLM judge's score of the "
        "same outputs; Spearman and Kendall: rank correlation between judge and humans; judge higher: the share "
        f"of outputs the judge rates above the humans. Raters: {', '.join(found['raters']) or 'none yet'}."
    )
    return text + "\n\n" + table(report_rows(found), REPORT_HEAD) + "\n"


def write_report(folder: Path, store: ReviewStore) -> dict[str, Any]:
    """ratings.json and ratings.md beside the model (`curate review` then brings its model card up to date)."""
    found = report(store.queue(), store.answers())
    write_json_atomic(Path(folder) / "ratings.json", found)
    write_text_atomic(Path(folder) / "ratings.md", markdown_report(found))
    return found
