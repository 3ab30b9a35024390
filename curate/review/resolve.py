"""From answers to decisions: majority vote per row, the correction to apply, and agreement figures.

Only submitted answers with a decision vote; drafts and discarded answers (an annotator skipped the row) do not.
A row with no vote is pending. A tie follows the `ties` policy (reject by default: a row that half of its reviewers
reject has not earned trust). The correction applied to an accepted row is the one most of its accepting reviewers
gave (ties: the first reviewer by name); a "correction" equal to the text as it stands is no correction.

Agreement: for rows with two or more votes, the share of unanimous rows, the mean pairwise agreement, and
Krippendorff's alpha for nominal data (which allows a different number of reviewers per row); per annotator, how
often their vote matched the final decision.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from curate.review import ACCEPT, REJECT

PENDING = "pending"


def votes(answers: pl.DataFrame) -> pl.DataFrame:
    """Submitted answers with a valid decision."""
    return answers.filter((pl.col("status") == "submitted") & pl.col("decision").is_in([ACCEPT, REJECT]))


def _clean(column: str) -> pl.Expr:
    text = pl.col(column).cast(pl.String).str.strip_chars()
    return pl.when(text.str.len_chars() > 0).then(text).otherwise(None)


def resolve(queue: pl.DataFrame, answers: pl.DataFrame, correct: list[str], ties: str = REJECT) -> pl.DataFrame:
    """One row per queued `_id`: `_decision` (accept, reject, pending), `_votes_accept`, `_votes_reject`,
    `_agreement`, `_issues`, `_note`, `_detail` (for a reject) and `corrected_<field>` (null: no correction)."""
    v = votes(answers)
    tally = v.group_by("_id").agg(
        (pl.col("decision") == ACCEPT).sum().cast(pl.Int64).alias("_votes_accept"),
        (pl.col("decision") == REJECT).sum().cast(pl.Int64).alias("_votes_reject"),
    )
    out = (
        queue.select("_id")
        .join(tally, on="_id", how="left", maintain_order="left")
        .with_columns(pl.col("_votes_accept").fill_null(0), pl.col("_votes_reject").fill_null(0))
    )
    a, r = pl.col("_votes_accept"), pl.col("_votes_reject")
    tie = pl.lit(PENDING if ties == PENDING else ties)
    out = out.with_columns(
        pl.when(a + r == 0)
        .then(pl.lit(PENDING))
        .when(a > r)
        .then(pl.lit(ACCEPT))
        .when(r > a)
        .then(pl.lit(REJECT))
        .otherwise(tie)
        .alias("_decision"),
        pl.when(a + r > 0).then(pl.max_horizontal(a, r) / (a + r)).otherwise(None).alias("_agreement"),
    )
    # issues and notes of the reviewers who voted as the row was decided
    agreeing = v.join(out.select("_id", "_decision"), on="_id").filter(pl.col("decision") == pl.col("_decision"))
    extras = agreeing.group_by("_id").agg(
        pl.col("issues").explode().drop_nulls().unique().sort().alias("_issues"),
        pl.col("note")
        .filter(pl.col("note").str.strip_chars().str.len_chars() > 0)
        .sort()
        .str.join(" | ")
        .alias("_note"),
    )
    out = out.join(extras, on="_id", how="left", maintain_order="left").with_columns(
        pl.col("_issues").fill_null(pl.lit([], pl.List(pl.String))),
        pl.when(pl.col("_note").str.len_chars() > 0).then(pl.col("_note")).otherwise(None).alias("_note"),
    )
    for field in correct:
        out = out.join(_correction(agreeing, queue, field), on="_id", how="left", maintain_order="left")
        out = out.with_columns(
            pl.when(pl.col("_decision") == ACCEPT).then(pl.col(f"corrected_{field}")).otherwise(None)
        )
    return out.with_columns(_detail().alias("_detail"))


def _correction(agreeing: pl.DataFrame, queue: pl.DataFrame, field: str) -> pl.DataFrame:
    column = f"corrected_{field}"
    if column not in agreeing.columns or field not in queue.columns:
        return pl.DataFrame(schema={"_id": pl.String, column: pl.String})
    given = agreeing.select("_id", "annotator", _clean(column).alias(column)).filter(pl.col(column).is_not_null())
    given = given.join(queue.select("_id", _clean(field).alias("_original")), on="_id", how="left")
    given = given.filter(pl.col("_original").is_null() | (pl.col(column) != pl.col("_original")))
    if given.height == 0:
        return pl.DataFrame(schema={"_id": pl.String, column: pl.String})
    counted = given.group_by(["_id", column]).agg(pl.len().alias("_n"), pl.col("annotator").min().alias("_first"))
    return (
        counted.sort(["_id", "_n", "_first"], descending=[False, True, False])
        .group_by("_id", maintain_order=True)
        .first()
        .select("_id", column)
    )


def _detail() -> pl.Expr:
    """`2 of 2 reviewers rejected; issues: pii_left; note: ...` for a rejected row."""
    total = pl.col("_votes_accept") + pl.col("_votes_reject")
    issues = (
        pl.when(pl.col("_issues").list.len() > 0)
        .then(pl.lit("; issues: ") + pl.col("_issues").list.join(", "))
        .otherwise(pl.lit(""))
    )
    note = pl.when(pl.col("_note").is_not_null()).then(pl.lit("; note: ") + pl.col("_note")).otherwise(pl.lit(""))
    text = (
        pl.col("_votes_reject").cast(pl.String) + pl.lit(" of ") + total.cast(pl.String) + pl.lit(" reviewers rejected")
    )
    return pl.when(pl.col("_decision") == REJECT).then(text + issues + note).otherwise(None)


def krippendorff_alpha(counts: pl.DataFrame) -> float | None:
    """Krippendorff's alpha (nominal) from per-row vote counts `_votes_accept`, `_votes_reject`; rows with fewer than
    two votes do not count. None when it is undefined (fewer than two pairable votes, or one category only)."""
    m = pl.col("_votes_accept") + pl.col("_votes_reject")
    rows = counts.filter(m >= 2).with_columns(m.alias("_m"))
    if rows.height == 0:
        return None
    a, r, mm = pl.col("_votes_accept"), pl.col("_votes_reject"), pl.col("_m") - 1
    sums = rows.select(
        (a * (a - 1) / mm).sum().alias("aa"),
        (r * (r - 1) / mm).sum().alias("rr"),
        (a * r / mm).sum().alias("ar"),
    ).row(0, named=True)
    n_a, n_r = sums["aa"] + sums["ar"], sums["rr"] + sums["ar"]
    n = n_a + n_r
    if n_a == 0 or n_r == 0:
        return None
    return 1.0 - (n - 1) * sums["ar"] / (n_a * n_r)


def agreement(decisions: pl.DataFrame, answers: pl.DataFrame) -> dict[str, Any]:
    """Figures for the manifest, `curate review status` and the card."""
    a, r = pl.col("_votes_accept"), pl.col("_votes_reject")
    multi = decisions.filter(a + r >= 2)
    n = a + r
    pairwise = ((a * (a - 1) + r * (r - 1)) / (n * (n - 1))).mean()
    v = votes(answers).join(decisions.select("_id", "_decision"), on="_id")
    annotators = {}
    for (name,), rows in v.group_by(["annotator"], maintain_order=True):
        decided = rows.filter(pl.col("_decision") != PENDING)
        annotators[name] = {
            "votes": rows.height,
            "accepted": int((rows["decision"] == ACCEPT).sum()),
            "rejected": int((rows["decision"] == REJECT).sum()),
            "with_majority": round(float((decided["decision"] == decided["_decision"]).mean()), 4)
            if decided.height
            else None,
        }
    alpha = krippendorff_alpha(decisions)
    return {
        "rows_with_votes": int(decisions.filter(n > 0).height),
        "rows_with_several_votes": multi.height,
        "unanimous": round(float(multi.filter((a == 0) | (r == 0)).height / multi.height), 4) if multi.height else None,
        "pairwise_agreement": round(float(multi.select(pairwise).item()), 4) if multi.height else None,
        "krippendorff_alpha": round(alpha, 4) if alpha is not None else None,
        "annotators": dict(sorted(annotators.items())),
    }


def counts(decisions: pl.DataFrame, correct: list[str]) -> dict[str, int]:
    """Rows per outcome, disjoint so that they add up to the rows queued: accepted as they are, accepted with a
    correction, rejected, pending (no decision yet)."""
    decision = pl.col("_decision")
    corrected = (
        pl.any_horizontal([pl.col(f"corrected_{f}").is_not_null() for f in correct]) if correct else pl.lit(False)
    )
    accepted = decision == ACCEPT
    row = (
        decisions.select(
            (accepted & ~corrected).sum().alias("accepted"),
            (accepted & corrected).sum().alias("corrected"),
            (decision == REJECT).sum().alias("rejected"),
            (decision == PENDING).sum().alias("pending"),
        ).row(0, named=True)
        if decisions.height
        else dict.fromkeys(("accepted", "corrected", "rejected", "pending"), 0)
    )
    return {k: int(v) for k, v in row.items()}
